//! flask-cam's users file: one line per user, `NAME<TAB>base64(bcrypt string)`, the bcrypt
//! string being Python's `bcrypt.hashpw(pw, bcrypt.gensalt())` (`$2b$12$...`, 60 characters,
//! stored base64 with padding: 80 characters). Names may hold spaces, never tabs.
//!
//! The whole file is checked before anything is written: one bad line and nothing is imported.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lookout_core::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    pub line: usize,
    pub name: String,
    pub bcrypt: String,
}

/// Every user in the file, or every problem with its line number.
pub fn parse(text: &str) -> Result<Vec<ImportedUser>, Vec<String>> {
    let mut users: Vec<ImportedUser> = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw) {
            Ok((name, bcrypt)) => {
                if users.iter().any(|u| u.name == name) {
                    problems.push(format!("line {line}: user {name:?} appears twice"));
                } else {
                    users.push(ImportedUser { line, name, bcrypt });
                }
            }
            Err(why) => problems.push(format!("line {line}: {why}")),
        }
    }
    if problems.is_empty() {
        Ok(users)
    } else {
        Err(problems)
    }
}

/// Highest bcrypt cost accepted (a check at 14 takes ~1 s here; flask-cam uses 12).
const MAX_BCRYPT_COST: u32 = 14;

/// One line's user name and bcrypt string; every refusal is `InvalidInput`.
fn parse_line(raw: &str) -> Result<(String, String), Error> {
    let (name, encoded) = raw
        .split_once('\t')
        .ok_or_else(|| Error::invalid("expected NAME<TAB>HASH (no tab found)"))?;
    lookout_store::users::check_name(name)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|e| Error::invalid(format!("the hash is not base64: {e}")))?;
    let bcrypt =
        String::from_utf8(decoded).map_err(|_| Error::invalid("the decoded hash is not text"))?;
    let well_formed = bcrypt.len() == 60
        && ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|p| bcrypt.starts_with(p))
        && bcrypt.parse::<bcrypt::HashParts>().is_ok();
    if !well_formed {
        return Err(Error::invalid(
            "the decoded hash is not a bcrypt hash ($2b$..., 60 characters)",
        ));
    }
    // Each login would spend 2^cost rounds: refuse what would tie up the server.
    let cost = bcrypt
        .parse::<bcrypt::HashParts>()
        .map_or(0, |p| p.get_cost());
    if cost > MAX_BCRYPT_COST {
        return Err(Error::invalid(format!(
            "bcrypt cost {cost} is above {MAX_BCRYPT_COST} (flask-cam uses 12); reset this user's password instead"
        )));
    }
    Ok((name.to_owned(), bcrypt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, pw: &str) -> String {
        format!("{name}\t{}", STANDARD.encode(bcrypt::hash(pw, 4).unwrap()))
    }

    #[test]
    fn reads_names_with_spaces_and_skips_blank_lines() {
        let text = format!("{}\n\n{}\r\n", line("alice", "a"), line("Bob Smith", "b"));
        let users = parse(&text).unwrap();
        assert_eq!(
            users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["alice", "Bob Smith"]
        );
        assert_eq!(users[1].line, 3);
        assert!(bcrypt::verify("b", &users[1].bcrypt).unwrap());
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let text = format!(
            "{}\nno tab here\nx\tnot-base64!\ny\t{}\n{}\n",
            line("a", "p"),
            STANDARD.encode("plain"),
            line("a", "q")
        );
        let problems = parse(&text).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("line 2: expected NAME<TAB>HASH"));
        assert!(problems[1].starts_with("line 3: the hash is not base64"));
        assert!(problems[2].starts_with("line 4: the decoded hash is not a bcrypt hash"));
        assert!(problems[3].starts_with("line 5: user \"a\" appears twice"));
    }
}
