//! serde's error messages in the words of the config reference: "a whole number from 0 to 255"
//! instead of `expected u8`, "a list" instead of `a sequence`.

use toml::de::DeValue;

/// What a serde error says, taken apart (serde's own wording, `serde::de::Error`'s defaults).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Said<'m> {
    /// `invalid type: string "x", expected u32`, or `invalid value: …` (out of the type's range).
    Invalid {
        found: &'m str,
        expected: &'m str,
        out_of_range: bool,
    },
    /// `invalid length 1, expected an array of length 2`.
    Length {
        len: &'m str,
        expected: &'m str,
    },
    /// ``unknown variant `webcam`, expected one of `testpattern`, …``.
    UnknownVariant {
        variant: &'m str,
        expected: &'m str,
    },
    /// ``unknown field `colour`, expected one of `id`, …``.
    UnknownField {
        field: &'m str,
        expected: &'m str,
    },
    /// ``missing field `id` ``.
    MissingField {
        field: &'m str,
    },
    /// `data did not match any variant of untagged enum CommandLine`.
    Untagged {
        name: &'m str,
    },
    Other(&'m str),
}

pub(super) fn said(msg: &str) -> Said<'_> {
    let ticked = |rest: &'static str| -> Option<(&str, &str)> {
        let inner = msg.strip_prefix(rest)?.strip_prefix('`')?;
        let (name, after) = inner.split_once('`')?;
        Some((name, after.trim_start_matches(',').trim()))
    };
    if let Some(rest) = msg.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        return Said::Invalid {
            found,
            expected,
            out_of_range: false,
        };
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        return Said::Invalid {
            found,
            expected,
            out_of_range: true,
        };
    }
    if let Some(rest) = msg.strip_prefix("invalid length ")
        && let Some((len, expected)) = rest.split_once(", expected ")
    {
        return Said::Length { len, expected };
    }
    if let Some((variant, rest)) = ticked("unknown variant ") {
        let expected = rest.strip_prefix("expected ").unwrap_or(rest);
        return Said::UnknownVariant { variant, expected };
    }
    if let Some((field, rest)) = ticked("unknown field ") {
        let expected = rest.strip_prefix("expected ").unwrap_or(rest);
        return Said::UnknownField { field, expected };
    }
    if let Some((field, _)) = ticked("missing field ") {
        return Said::MissingField { field };
    }
    // toml's own words for an enum given neither a string nor a table (`mode = 1`).
    if msg == "wanted string or table" {
        return Said::Invalid {
            found: "",
            expected: "a string",
            out_of_range: false,
        };
    }
    if let Some(name) = msg.strip_prefix("data did not match any variant of untagged enum ") {
        return Said::Untagged { name: name.trim() };
    }
    Said::Other(msg)
}

/// serde's `expected …` for the Rust types of `file.rs`, as the reference writes them.
pub(super) fn expected(expected: &str) -> String {
    let words = match expected {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a borrowed string" | "a character" => "text in quotes",
        "path string" => "a path in quotes",
        "a sequence" => "a list, in [ ]",
        "a map" => "a table",
        other if other.starts_with("struct ") || other.starts_with("internally tagged enum") => {
            "a table"
        }
        other => {
            return match other.strip_prefix("an array of length ") {
                Some(n) => format!("a list of {n} numbers, like [0.5, 0.5]"),
                None => other.to_owned(),
            };
        }
    };
    words.to_owned()
}

/// "a whole number from 1 to 100": how range errors say what a key takes.
pub(super) fn whole(lo: impl std::fmt::Display, hi: impl std::fmt::Display) -> String {
    format!("a whole number from {lo} to {hi}")
}

/// ``one of `a`, `b` `` → `one of "a", "b"`: the values as they are written in the file.
pub(super) fn choices(expected: &str) -> String {
    expected.replace('`', "\"")
}

/// What to write instead of an untagged enum the value matched no variant of, and the key it
/// is read from when serde only knows the table (`command` inside `[camera.source]`).
pub(super) fn untagged(name: &str) -> (Option<&'static str>, String) {
    match name {
        "CommandLine" => (
            Some("command"),
            "a list of arguments, like [\"ffmpeg\", \"-i\", \"…\"], or one shell command line in quotes".to_owned(),
        ),
        "ControlValue" => (None, "a whole number, true or false, or text in quotes".to_owned()),
        other => (None, format!("a {other}")),
    }
}

/// Whether `value` is the value serde describes as `found` (`string "x"`, ``integer `5` ``,
/// ``floating point `1.5` ``, ``boolean `true` ``, `sequence`, `map`).
pub(super) fn is_found(found: &str, value: &DeValue<'_>) -> bool {
    let ticked = |prefix: &str| {
        found
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('`'))
            .and_then(|r| r.strip_suffix('`'))
    };
    match value {
        DeValue::String(s) => found == format!("string {s:?}"),
        DeValue::Integer(i) => ticked("integer ").is_some_and(|n| {
            let ours = i128::from_str_radix(i.as_str(), i.radix());
            matches!((ours, n.parse::<i128>()), (Ok(a), Ok(b)) if a == b)
        }),
        DeValue::Float(f) => ticked("floating point ").is_some_and(|n| {
            let ours = f.as_str().parse::<f64>();
            matches!((ours, n.parse::<f64>()), (Ok(a), Ok(b)) if a == b || (a.is_nan() && b.is_nan()))
        }),
        DeValue::Boolean(b) => ticked("boolean ") == Some(if *b { "true" } else { "false" }),
        DeValue::Array(_) => found == "sequence",
        DeValue::Table(_) => found == "map",
        DeValue::Datetime(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_taken_apart() {
        assert_eq!(
            said("invalid value: integer `300`, expected u8"),
            Said::Invalid {
                found: "integer `300`",
                expected: "u8",
                out_of_range: true
            }
        );
        assert_eq!(
            said("invalid type: string \"a, b\", expected u32"),
            Said::Invalid {
                found: "string \"a, b\"",
                expected: "u32",
                out_of_range: false
            }
        );
        assert_eq!(
            said("unknown field `colour`, expected one of `id`, `name`"),
            Said::UnknownField {
                field: "colour",
                expected: "one of `id`, `name`"
            }
        );
        assert_eq!(
            said("unknown variant `nope`, expected `login` or `none`"),
            Said::UnknownVariant {
                variant: "nope",
                expected: "`login` or `none`"
            }
        );
        assert_eq!(
            said("missing field `id`"),
            Said::MissingField { field: "id" }
        );
        assert_eq!(
            said("invalid length 1, expected an array of length 2"),
            Said::Length {
                len: "1",
                expected: "an array of length 2"
            }
        );
        assert_eq!(
            said("data did not match any variant of untagged enum CommandLine"),
            Said::Untagged {
                name: "CommandLine"
            }
        );
        assert_eq!(said("something else"), Said::Other("something else"));
    }

    #[test]
    fn types_are_said_in_words() {
        assert_eq!(expected("u8"), "a whole number from 0 to 255");
        assert_eq!(expected("usize"), "a whole number, 0 or more");
        assert_eq!(expected("a sequence"), "a list, in [ ]");
        assert_eq!(expected("struct TlsSection"), "a table");
        assert_eq!(
            expected("an array of length 2"),
            "a list of 2 numbers, like [0.5, 0.5]"
        );
        assert_eq!(
            choices("one of `login`, `none`"),
            "one of \"login\", \"none\""
        );
    }

    #[test]
    fn the_value_serde_describes_is_recognised() {
        let doc = toml::de::DeTable::parse(
            "s = \"x\"\ni = 0x1F\nf = 1.5\nb = true\na = [1]\nt = { x = 1 }\nbig = 1_000",
        )
        .unwrap();
        let v = |k: &str| doc.get_ref().get(k).unwrap().get_ref().clone();
        assert!(is_found("string \"x\"", &v("s")));
        assert!(is_found("integer `31`", &v("i")));
        assert!(is_found("integer `1000`", &v("big")));
        assert!(is_found("floating point `1.5`", &v("f")));
        assert!(is_found("boolean `true`", &v("b")));
        assert!(is_found("sequence", &v("a")));
        assert!(is_found("map", &v("t")));
        assert!(!is_found("string \"y\"", &v("s")));
        assert!(!is_found("integer `5`", &v("s")));
    }
}
