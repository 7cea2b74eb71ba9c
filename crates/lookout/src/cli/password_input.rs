//! Reading a password for `lookout user`: from the terminal without echo, from standard input
//! (`--password-stdin`, for scripts), or `--password` (which warns: it shows in `ps`).

use super::output::errln;
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::io::{BufRead, IsTerminal};

#[derive(Debug, Default, clap::Args)]
pub struct PasswordArgs {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The password itself (visible in `ps` and shell history: prefer --password-stdin).
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
}

pub fn read(args: &PasswordArgs, confirm: bool) -> Result<String, Error> {
    let unreadable = |what: &str, e: std::io::Error| Error::wrap(io_kind(&e), what, e);
    if let Some(p) = &args.password {
        errln!("warning: --password shows in `ps` and in shell history; prefer --password-stdin");
        return Ok(p.clone());
    }
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| unreadable("cannot read the password from standard input", e))?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::new(
            ErrorKind::FailedPrecondition,
            "no terminal to ask for the password on: pass it with --password-stdin",
        ));
    }
    let first = rpassword::prompt_password("Password: ")
        .map_err(|e| unreadable("cannot read the password", e))?;
    if confirm {
        let again = rpassword::prompt_password("Repeat it: ")
            .map_err(|e| unreadable("cannot read the password", e))?;
        if again != first {
            return Err(Error::invalid(
                "the two passwords differ; nothing was changed",
            ));
        }
    }
    Ok(first)
}
