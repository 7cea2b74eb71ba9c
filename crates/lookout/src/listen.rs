//! Where Lookout listens: TCP addresses (plain or HTTPS), unix sockets, and sockets passed
//! by systemd (`LISTEN_FDS`, see [`systemd`]). Parsing the config's strings, binding them
//! safely, and naming them for people.

pub mod systemd;

use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use systemd::{PassedListener, SystemdSockets};
use tokio::net::{TcpListener, UnixListener};

/// One entry of `server.listen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenSpec {
    /// `IP:PORT`, `http://IP:PORT` or `https://IP:PORT`.
    Tcp { addr: SocketAddr, tls: bool },
    /// `unix:/run/lookout/http.sock`.
    Unix(PathBuf),
    /// `systemd`: every socket systemd passed (socket activation), plain HTTP.
    Systemd,
}

impl FromStr for ListenSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        const FIX: &str = "write IP:PORT (\"127.0.0.1:8080\", \"[::]:8080\"), https://IP:PORT, unix:/PATH or systemd";
        if s == "systemd" {
            return Ok(ListenSpec::Systemd);
        }
        if let Some(path) = s.strip_prefix("unix:") {
            if !path.starts_with('/') {
                return Err(Error::invalid(format!(
                    "{s:?}: a unix socket needs an absolute path; {FIX}"
                )));
            }
            return Ok(ListenSpec::Unix(PathBuf::from(path)));
        }
        let (rest, tls) = if let Some(r) = s.strip_prefix("https://") {
            (r, true)
        } else {
            (s.strip_prefix("http://").unwrap_or(s), false)
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        rest.parse::<SocketAddr>()
            .map(|addr| ListenSpec::Tcp { addr, tls })
            .map_err(|_| Error::invalid(format!("{s:?} is not an address; {FIX}")))
    }
}

impl fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenSpec::Tcp { addr, tls: false } => write!(f, "http://{addr}"),
            ListenSpec::Tcp { addr, tls: true } => write!(f, "https://{addr}"),
            ListenSpec::Unix(p) => write!(f, "unix:{}", p.display()),
            ListenSpec::Systemd => f.write_str("systemd"),
        }
    }
}

impl ListenSpec {
    /// Reachable only from this machine (what `auth.mode = "none"` needs).
    pub fn is_local(&self) -> bool {
        match self {
            ListenSpec::Tcp { addr, .. } => addr.ip().is_loopback(),
            ListenSpec::Unix(_) => true,
            ListenSpec::Systemd => false,
        }
    }
}

/// Who may connect to a unix socket.
#[derive(Debug, Clone, Default)]
pub struct SocketPermissions {
    /// File mode, e.g. 0o660.
    pub mode: u32,
    /// Group name to own the socket (the web server's, e.g. `www-data`).
    pub group: Option<String>,
}

/// A bound listener, ready to accept.
#[derive(Debug)]
pub enum Bound {
    Tcp {
        listener: TcpListener,
        tls: bool,
    },
    Unix {
        listener: UnixListener,
        path: PathBuf,
        /// Bound by us, so removed at shutdown; a socket systemd passed is systemd's and stays
        /// for the next start.
        owned: bool,
    },
}

impl From<TcpListener> for Bound {
    fn from(listener: TcpListener) -> Self {
        Bound::Tcp {
            listener,
            tls: false,
        }
    }
}

impl Bound {
    /// What to print: `http://127.0.0.1:8080/`, `unix:/run/lookout.sock`.
    pub fn describe(&self) -> String {
        match self {
            Bound::Tcp { listener, tls } => match listener.local_addr() {
                Ok(a) => format!("{}://{a}/", if *tls { "https" } else { "http" }),
                Err(_) => "a TCP socket".into(),
            },
            Bound::Unix { path, .. } => format!("unix:{}", path.display()),
        }
    }

    pub fn is_local(&self) -> bool {
        match self {
            Bound::Tcp { listener, .. } => {
                listener.local_addr().is_ok_and(|a| a.ip().is_loopback())
            }
            Bound::Unix { .. } => true,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Bound::Tcp { tls: true, .. })
    }
}

/// Binds every spec, taking the sockets systemd passed for `systemd`; an error names the
/// address and what to do.
pub async fn bind_all(
    specs: &[ListenSpec],
    permissions: &SocketPermissions,
    systemd: &mut SystemdSockets,
) -> Result<Vec<Bound>, Error> {
    let mut out = Vec::new();
    for spec in specs {
        match spec {
            ListenSpec::Tcp { addr, tls } => {
                let listener = TcpListener::bind(addr).await.map_err(|e| {
                    Error::wrap(bind_kind(&e), format!("cannot listen on {addr}: {e}; pick another port with --listen or server.listen, or stop what uses it"), e)
                })?;
                out.push(Bound::Tcp {
                    listener,
                    tls: *tls,
                });
            }
            ListenSpec::Unix(path) => out.push(bind_unix(path, permissions)?),
            ListenSpec::Systemd => {
                for passed in systemd.take_listeners()? {
                    out.push(adopt(passed)?);
                }
            }
        }
    }
    Ok(out)
}

/// What a failed bind means: a port in use is the state of the machine, an address that is
/// not this machine's is a config mistake.
fn bind_kind(e: &std::io::Error) -> ErrorKind {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => ErrorKind::FailedPrecondition,
        std::io::ErrorKind::AddrNotAvailable => ErrorKind::InvalidInput,
        _ => io_kind(e),
    }
}

/// Binds a unix socket. A socket file left by a crashed Lookout is removed; a live one (some
/// process accepts on it) or any other kind of file is never touched.
fn bind_unix(path: &Path, permissions: &SocketPermissions) -> Result<Bound, Error> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let shown = path.display();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "cannot listen on unix:{shown}: a file that is not a socket is there; remove it or choose another path"
                ),
            ));
        }
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    format!(
                        "cannot listen on unix:{shown}: another process is serving on it; stop it or choose another path"
                    ),
                ));
            }
            // Only a refusal proves nobody serves there; a full backlog or a permission
            // problem may hide a live server, whose socket must not be removed.
            Err(e) if e.kind() != std::io::ErrorKind::ConnectionRefused => {
                return Err(Error::wrap(
                    ErrorKind::FailedPrecondition,
                    format!(
                        "cannot listen on unix:{shown}: the socket there may be in use ({e}); remove it if no process serves on it"
                    ),
                    e,
                ));
            }
            Err(_) => {
                std::fs::remove_file(path).map_err(|e| {
                    Error::wrap(
                        io_kind(&e),
                        format!("cannot remove the stale socket {shown}"),
                        e,
                    )
                })?;
            }
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::wrap(
                io_kind(&e),
                format!("cannot create {} for the socket", dir.display()),
                e,
            )
        })?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| Error::wrap(bind_kind(&e), format!("cannot listen on unix:{shown}"), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(permissions.mode))
        .map_err(|e| Error::wrap(io_kind(&e), format!("cannot set the mode of {shown}"), e))?;
    if let Some(group) = &permissions.group {
        let gid = group_id(group)?;
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(|e| {
            Error::wrap(io_kind(&e), format!("cannot give {shown} to group {group:?}: {e}; run as root or as a member of that group"), e)
        })?;
    }
    Ok(Bound::Unix {
        listener,
        path: path.to_owned(),
        owned: true,
    })
}

/// The id of group `name` (or a number). Runs while the runtime's threads exist, so the
/// reentrant `getgrnam_r`: `getgrnam` returns static storage another thread may overwrite.
fn group_id(name: &str) -> Result<u32, Error> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    let c = std::ffi::CString::new(name)
        .map_err(|_| Error::invalid(format!("bad group name {name:?}")))?;
    // Group entries with many members need more than the usual 1 KiB; past 1 MiB is not a group.
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        // SAFETY: zeroed bytes are a valid `group` (integers and null pointers).
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: getgrnam_r reads the NUL-terminated `c`, writes the entry into `group` and
        // its strings into `buf` (at most `buf.len()` bytes), and sets `found` to `&group` or
        // null; only `gr_gid`, a plain integer, is read afterwards.
        let rc = unsafe {
            libc::getgrnam_r(
                c.as_ptr(),
                &mut group,
                buf.as_mut_ptr(),
                buf.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            let e = std::io::Error::from_raw_os_error(rc);
            return Err(Error::wrap(
                io_kind(&e),
                format!("cannot look up group {name:?} (server.socket_group)"),
                e,
            ));
        }
        if found.is_null() {
            return Err(Error::invalid(format!(
                "no group {name:?} on this system; check server.socket_group"
            )));
        }
        return Ok(group.gr_gid);
    }
}

/// A socket systemd passed, registered with the runtime.
fn adopt(passed: PassedListener) -> Result<Bound, Error> {
    let register =
        |e: std::io::Error| Error::wrap(io_kind(&e), "cannot serve on a socket systemd passed", e);
    Ok(match passed {
        PassedListener::Tcp(std) => {
            std.set_nonblocking(true).map_err(register)?;
            Bound::Tcp {
                listener: TcpListener::from_std(std).map_err(register)?,
                tls: false,
            }
        }
        PassedListener::Unix { listener, path } => {
            listener.set_nonblocking(true).map_err(register)?;
            Bound::Unix {
                listener: UnixListener::from_std(listener).map_err(register)?,
                path,
                owned: false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_refuses_the_rest() {
        let tcp = |s: &str, tls| ListenSpec::Tcp {
            addr: s.parse().unwrap(),
            tls,
        };
        let parse = |s: &str| s.parse::<ListenSpec>().map_err(|e| e.kind());
        assert_eq!(parse("127.0.0.1:8080"), Ok(tcp("127.0.0.1:8080", false)));
        assert_eq!(parse("http://[::]:80/"), Ok(tcp("[::]:80", false)));
        assert_eq!(parse("https://0.0.0.0:443"), Ok(tcp("0.0.0.0:443", true)));
        assert_eq!(
            parse("unix:/run/lookout.sock"),
            Ok(ListenSpec::Unix("/run/lookout.sock".into()))
        );
        assert_eq!(parse("systemd"), Ok(ListenSpec::Systemd));
        for bad in [
            "localhost:80",
            "unix:relative.sock",
            "https://:443",
            "8080",
            "",
        ] {
            assert_eq!(parse(bad), Err(ErrorKind::InvalidInput), "{bad}");
        }
        assert!(
            "https://[::1]:8443"
                .parse::<ListenSpec>()
                .unwrap()
                .is_local()
        );
        assert!(!"0.0.0.0:80".parse::<ListenSpec>().unwrap().is_local());
    }

    #[test]
    fn groups_are_found_by_name_or_number() {
        assert_eq!(group_id("root").unwrap(), 0);
        assert_eq!(group_id("4242").unwrap(), 4242);
        let e = group_id("no-such-group-lookout-test").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("server.socket_group"), "{}", e.chain());
    }

    #[tokio::test]
    async fn a_port_in_use_is_said_once_with_what_to_do() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let e = bind_all(
            &[ListenSpec::Tcp { addr, tls: false }],
            &SocketPermissions::default(),
            &mut SystemdSockets::none(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
        let text = e.chain().to_string();
        assert!(
            text.starts_with(&format!("cannot listen on {addr}: ")),
            "{text}"
        );
        assert!(text.ends_with("or stop what uses it"), "{text}");
        assert_eq!(text.matches("in use").count(), 1, "{text}");
    }

    #[tokio::test]
    async fn stale_sockets_go_live_ones_and_other_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let perms = SocketPermissions {
            mode: 0o660,
            group: None,
        };
        let path = dir.path().join("s.sock");
        let live = bind_unix(&path, &perms).unwrap();
        let err = bind_unix(&path, &perms).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
        assert!(
            err.message().contains("another process is serving"),
            "{err}"
        );
        drop(live);
        // The file stays after the listener is gone (a crash): stale, so replaced.
        assert!(path.exists());
        bind_unix(&path, &perms).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, "keep me").unwrap();
        let err = bind_unix(&file, &perms).unwrap_err();
        assert!(err.message().contains("not a socket"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    }
}
