//! Socket activation (sd_listen_fds(3)): the listening sockets systemd passes as file
//! descriptors 3, 4, … with `LISTEN_PID` and `LISTEN_FDS`. `main` takes them before anything
//! else runs, because the environment may only change while the process has one thread
//! (another thread's `getenv`, in Rust or in C, may read it meanwhile); `serve` turns them into
//! listeners when `server.listen` says `"systemd"`.

use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// First file descriptor systemd passes (SD_LISTEN_FDS_START).
const LISTEN_FDS_START: RawFd = 3;

/// What `"systemd"` in `server.listen` needs and did not get.
const NONE_PASSED: &str = "server.listen has \"systemd\" but systemd passed no sockets (LISTEN_FDS); start Lookout from its .socket unit, or listen on an address";

/// The sockets systemd passed to this process: owned (closed when dropped unused) and
/// close-on-exec, so that programs Lookout starts (command sources) never hold them.
#[derive(Debug)]
pub struct SystemdSockets {
    passed: Result<Vec<OwnedFd>, Error>,
}

impl Default for SystemdSockets {
    fn default() -> Self {
        Self::none()
    }
}

/// A passed socket, as a listener of the standard library (blocking; the caller registers it
/// with the runtime).
#[derive(Debug)]
pub enum PassedListener {
    Tcp(std::net::TcpListener),
    Unix {
        listener: std::os::unix::net::UnixListener,
        /// Its path, or `(fd N)` for an abstract or unnamed socket.
        path: PathBuf,
    },
}

impl SystemdSockets {
    /// No sockets: not started by systemd (and in tests).
    pub fn none() -> Self {
        Self {
            passed: Ok(Vec::new()),
        }
    }

    /// Takes the sockets systemd passed to this process. `LISTEN_PID`, `LISTEN_FDS` and
    /// `LISTEN_FDNAMES` are removed from the environment whatever they say, as
    /// `sd_listen_fds(1)` does: programs Lookout starts must not think the sockets are theirs.
    /// A descriptor that is not open is an error for `serve` to report, not a panic here.
    ///
    /// # Safety
    ///
    /// No other thread may exist: changing the environment while another thread reads it is
    /// undefined behaviour. Call it first thing in `main`.
    pub unsafe fn take_from_env() -> Self {
        let var = |name| std::env::var(name).ok();
        let count = passed_count(
            var("LISTEN_PID").as_deref(),
            var("LISTEN_FDS").as_deref(),
            std::process::id(),
        );
        // SAFETY: the caller guarantees that this process has no other thread, so nothing
        // reads the environment while it changes.
        unsafe {
            std::env::remove_var("LISTEN_PID");
            std::env::remove_var("LISTEN_FDS");
            std::env::remove_var("LISTEN_FDNAMES");
        }
        let passed = (LISTEN_FDS_START..LISTEN_FDS_START.saturating_add(count))
            .map(own)
            .collect();
        Self { passed }
    }

    /// How many sockets were passed and are not taken yet.
    pub fn len(&self) -> usize {
        self.passed.as_ref().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every passed socket as a listener; none are left behind. An error when systemd passed
    /// none, or one that is not a listening stream socket.
    pub fn take_listeners(&mut self) -> Result<Vec<PassedListener>, Error> {
        let fds = std::mem::replace(&mut self.passed, Ok(Vec::new()))?;
        if fds.is_empty() {
            return Err(Error::new(ErrorKind::FailedPrecondition, NONE_PASSED));
        }
        fds.into_iter().map(listener).collect()
    }
}

/// How many sockets `LISTEN_PID` and `LISTEN_FDS` pass to process `pid`: none unless the pid
/// is ours (the variables may have been meant for a parent, and inherited).
fn passed_count(listen_pid: Option<&str>, listen_fds: Option<&str>, pid: u32) -> RawFd {
    let ours = listen_pid.and_then(|p| p.parse::<u32>().ok()) == Some(pid);
    let count = listen_fds
        .and_then(|n| n.parse::<RawFd>().ok())
        .unwrap_or(0);
    if ours { count.max(0) } else { 0 }
}

/// Owns passed descriptor `fd` and marks it close-on-exec (sd_listen_fds does the same).
fn own(fd: RawFd) -> Result<OwnedFd, Error> {
    // SAFETY: fcntl with F_GETFD only reads the flags of a descriptor number, open or not.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(Error::wrap(
            ErrorKind::FailedPrecondition,
            format!("file descriptor {fd} that systemd passed (LISTEN_FDS) is not open"),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: `fd` is open (checked above) and systemd passed it for this process to own
    // (LISTEN_PID is ours); its number came only from the environment, which no longer has
    // it, so nothing else in the process uses or closes it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sets the flags of a descriptor we own.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::wrap(
            io_kind(&e),
            format!("cannot mark file descriptor {fd} from systemd close-on-exec"),
            e,
        ));
    }
    Ok(owned)
}

/// A passed descriptor as a TCP or unix listener; anything else (a datagram socket, a socket
/// that does not listen, a file) is refused with what to change in the .socket unit.
fn listener(fd: OwnedFd) -> Result<PassedListener, Error> {
    let raw = fd.as_raw_fd();
    let not_listening = |what: &str| {
        Error::new(
            ErrorKind::InvalidInput,
            format!(
                "file descriptor {raw} from systemd {what}; pass listening stream sockets (ListenStream= in the .socket unit)"
            ),
        )
    };
    // SAFETY: zeroed bytes are a valid `sockaddr_storage` (plain integers).
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `storage`, on a descriptor we own.
    if unsafe { libc::getsockname(raw, (&raw mut storage).cast(), &mut len) } != 0 {
        return Err(Error::wrap(
            ErrorKind::InvalidInput,
            format!("file descriptor {raw} from systemd is not a socket"),
            std::io::Error::last_os_error(),
        ));
    }
    let mut listening: libc::c_int = 0;
    let mut opt_len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_ACCEPTCONN writes one int into `listening`, on a descriptor we own.
    let rc = unsafe {
        libc::getsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&raw mut listening).cast(),
            &mut opt_len,
        )
    };
    if rc != 0 || listening == 0 {
        return Err(not_listening("is not a listening stream socket"));
    }
    match i32::from(storage.ss_family) {
        libc::AF_INET | libc::AF_INET6 => Ok(PassedListener::Tcp(fd.into())),
        libc::AF_UNIX => {
            let listener = std::os::unix::net::UnixListener::from(fd);
            let path = listener
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(Path::to_owned))
                .unwrap_or_else(|| PathBuf::from(format!("(fd {raw})")));
            Ok(PassedListener::Unix { listener, path })
        }
        other => Err(not_listening(&format!(
            "has address family {other}, not TCP or unix"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sockets_passed_to_our_pid_count() {
        assert_eq!(passed_count(Some("42"), Some("2"), 42), 2);
        assert_eq!(passed_count(Some("41"), Some("2"), 42), 0, "a parent's");
        assert_eq!(passed_count(None, Some("2"), 42), 0);
        assert_eq!(passed_count(Some("42"), None, 42), 0);
        assert_eq!(passed_count(Some("42"), Some("-1"), 42), 0);
        assert_eq!(passed_count(Some("42"), Some("two"), 42), 0);
        assert_eq!(passed_count(Some(" 42"), Some("1"), 42), 0);
    }

    #[test]
    fn listening_tcp_and_unix_sockets_are_adopted() {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        match listener(OwnedFd::from(tcp)).unwrap() {
            PassedListener::Tcp(l) => assert_eq!(l.local_addr().unwrap(), addr),
            other => panic!("{other:?}"),
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("http.sock");
        let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
        match listener(OwnedFd::from(unix)).unwrap() {
            PassedListener::Unix { path: p, .. } => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn datagram_sockets_and_files_are_refused_with_the_unit_setting_to_change() {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = listener(OwnedFd::from(udp)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("ListenStream="), "{}", e.chain());
        let file = tempfile::tempfile().unwrap();
        let e = listener(OwnedFd::from(file)).unwrap_err();
        assert!(e.message().contains("is not a socket"), "{}", e.chain());
    }

    #[test]
    fn no_passed_socket_says_how_to_start_lookout() {
        let e = SystemdSockets::none().take_listeners().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
        assert!(e.message().contains(".socket unit"), "{}", e.chain());
    }
}
