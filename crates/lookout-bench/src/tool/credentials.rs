//! A viewer account and an API token for the bench's viewers, made with Lookout's own CLI
//! (`lookout user add`, `lookout token create`) in a data directory of the bench's own: a server
//! listening off loopback refuses `auth.mode = "none"`, so viewers in another network namespace
//! must log in, as any program would, with `Authorization: Bearer`.

use super::jpeg_folder;
use super::server::ScratchDir;
use std::io::{self, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

/// The account's name.
const USER: &str = "bench";

pub struct Credentials {
    dir: ScratchDir,
    /// `lk_...`, as `lookout token create` printed it.
    pub token: String,
}

impl Credentials {
    /// Creates the user and its token with `server_bin`.
    pub fn create(server_bin: &Path) -> io::Result<Self> {
        let dir = ScratchDir::new()?;
        let data_dir = dir
            .path()
            .to_str()
            .ok_or_else(|| io::Error::other(format!("{} is not UTF-8", dir.path().display())))?;
        // The password is never used (the viewers use the token); unguessable enough for an
        // account in a temporary database that lives as long as the bench.
        let password = format!(
            "bench-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        );
        let mut add = Command::new(server_bin)
            .args([
                "user",
                "add",
                USER,
                "--password-stdin",
                "--data-dir",
                data_dir,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run {}: {e}", server_bin.display()),
                )
            })?;
        if let Some(mut stdin) = add.stdin.take() {
            writeln!(stdin, "{password}")?;
        }
        let added = add.wait_with_output()?;
        check("lookout user add", &added)?;
        let created = Command::new(server_bin)
            .args([
                "token",
                "create",
                "fanout",
                "--user",
                USER,
                "--data-dir",
                data_dir,
            ])
            .stdin(Stdio::null())
            .output()?;
        check("lookout token create", &created)?;
        let token = token_from(&String::from_utf8_lossy(&created.stdout))?;
        Ok(Self { dir, token })
    }

    /// The config lines that point the server at this data directory (for its `[server]`
    /// table).
    pub fn data_dir_toml(&self) -> io::Result<String> {
        let dir = self.dir.path().to_str().ok_or_else(|| {
            io::Error::other(format!("{} is not UTF-8", self.dir.path().display()))
        })?;
        Ok(format!("data_dir = {}\n", jpeg_folder::toml_string(dir)))
    }
}

fn check(what: &str, out: &std::process::Output) -> io::Result<()> {
    if out.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// The token from `lookout token create`'s standard output: one line, `lk_` and more.
fn token_from(stdout: &str) -> io::Result<String> {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("lk_") && !l.contains(char::is_whitespace))
        .map(str::to_owned)
        .ok_or_else(|| io::Error::other(format!("no lk_ token in {stdout:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_the_printed_line() {
        assert_eq!(
            token_from("lk_PB7_8p1NS8A3WnQk4jgyXY08CGEww09NkUXDG8EpMs0\n").expect("token"),
            "lk_PB7_8p1NS8A3WnQk4jgyXY08CGEww09NkUXDG8EpMs0"
        );
        assert!(token_from("token \"b1\" created\n").is_err());
        assert!(token_from("").is_err());
    }
}
