//! systemd's notification protocol (sd_notify(3)) for `Type=notify` units: `READY=1` once
//! the listeners are bound, `WATCHDOG=1` every half `WatchdogSec=`, `STOPPING=1` when a
//! graceful shutdown starts. One datagram per message to `$NOTIFY_SOCKET`; without it (not
//! under systemd) nothing is sent. A failed send is logged at debug level and never stops
//! serving: systemd is a spectator here.
//!
//! The variables stay in the environment, so command sources inherit them; the unit's
//! `NotifyAccess=main` makes systemd ignore anything but Lookout's own messages.

use lookout_core::Error;
use lookout_core::error::io_kind;
use std::ffi::OsStr;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A socket to systemd's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
    /// How often to ping the watchdog: half of `WATCHDOG_USEC`, as sd_watchdog_enabled(3)
    /// advises; `None` when systemd watches nothing.
    watchdog: Option<Duration>,
}

impl Notifier {
    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`; `None` when not under a
    /// `Type=notify` unit (or the socket is unusable, which is logged).
    pub fn from_env() -> Option<Notifier> {
        let socket = std::env::var_os("NOTIFY_SOCKET")?;
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        match Self::new(&socket, usec.as_deref(), pid.as_deref(), std::process::id()) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::debug!("not notifying systemd: {}", e.chain());
                None
            }
        }
    }

    /// `notify_socket` is a path or `@` and an abstract name; the watchdog is on when
    /// `watchdog_usec` is a positive number and `watchdog_pid`, if set, is `pid`.
    fn new(
        notify_socket: &OsStr,
        watchdog_usec: Option<&str>,
        watchdog_pid: Option<&str>,
        pid: u32,
    ) -> Result<Notifier, Error> {
        let addr = socket_addr(notify_socket)?;
        let socket = UnixDatagram::unbound()
            .map_err(|e| Error::wrap(io_kind(&e), "no datagram socket", e))?;
        // A full queue on systemd's side must not block the runtime: drop the message.
        socket
            .set_nonblocking(true)
            .map_err(|e| Error::wrap(io_kind(&e), "cannot make the socket non-blocking", e))?;
        let for_us = watchdog_pid.is_none_or(|p| p.trim().parse::<u32>() == Ok(pid));
        let watchdog = watchdog_usec
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|u| *u > 0 && for_us)
            .map(|u| Duration::from_micros(u / 2).max(Duration::from_millis(1)));
        Ok(Notifier {
            socket,
            addr,
            watchdog,
        })
    }

    /// The watchdog period in use, if any.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends one message (`KEY=VALUE` lines); failures are logged at debug level only.
    pub fn send(&self, state: &str) {
        if let Err(e) = self.socket.send_to_addr(state.as_bytes(), &self.addr) {
            tracing::debug!("cannot notify systemd of {state:?}: {e}");
        }
    }

    /// Says `READY=1` now, then, on a task: `WATCHDOG=1` every period while the process
    /// runs (the task shows the runtime still schedules work), and `STOPPING=1` when
    /// `shutdown` is cancelled, which ends the task. Await it after the shutdown so the
    /// message is sent even when the shutdown is quicker than the task's next turn.
    pub fn serving(self, shutdown: CancellationToken) -> JoinHandle<()> {
        self.send("READY=1");
        tokio::spawn(async move {
            let Some(period) = self.watchdog else {
                shutdown.cancelled().await;
                self.send("STOPPING=1");
                return;
            };
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => {
                        self.send("STOPPING=1");
                        return;
                    }
                    _ = ticks.tick() => self.send("WATCHDOG=1"),
                }
            }
        })
    }
}

fn socket_addr(s: &OsStr) -> Result<SocketAddr, Error> {
    use lookout_core::ErrorKind;
    use std::os::unix::ffi::OsStrExt;
    let bytes = s.as_bytes();
    match bytes.first() {
        Some(b'/') => SocketAddr::from_pathname(s).map_err(|e| {
            Error::wrap(
                ErrorKind::InvalidInput,
                format!("NOTIFY_SOCKET {s:?} is not a socket path"),
                e,
            )
        }),
        Some(b'@') => abstract_addr(&bytes[1..]),
        _ => Err(Error::invalid(format!(
            "NOTIFY_SOCKET {s:?} is neither a path nor an abstract name (@...)"
        ))),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> Result<SocketAddr, Error> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name).map_err(|e| {
        Error::wrap(
            lookout_core::ErrorKind::InvalidInput,
            "NOTIFY_SOCKET: bad abstract socket name",
            e,
        )
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_name: &[u8]) -> Result<SocketAddr, Error> {
    Err(Error::invalid(
        "NOTIFY_SOCKET names an abstract socket, which only Linux has",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn messages_reach_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let systemd = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::new(path.as_os_str(), None, None, 1).unwrap();
        n.send("READY=1");
        assert_eq!(recv(&systemd), "READY=1");
        assert_eq!(n.watchdog_interval(), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn messages_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("lookout-notify-test-{}", std::process::id());
        let systemd =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let n = Notifier::new(OsStr::new(&format!("@{name}")), None, None, 1).unwrap();
        n.send("STOPPING=1");
        assert_eq!(recv(&systemd), "STOPPING=1");
    }

    #[test]
    fn the_watchdog_runs_at_half_its_timeout_for_our_pid_only() {
        let s = OsStr::new("/run/systemd/notify");
        let every = |usec, pid| Notifier::new(s, usec, pid, 42).unwrap().watchdog_interval();
        assert_eq!(every(Some("30000000"), None), Some(Duration::from_secs(15)));
        assert_eq!(
            every(Some("30000000"), Some("42")),
            Some(Duration::from_secs(15))
        );
        assert_eq!(every(Some("30000000"), Some("7")), None);
        assert_eq!(every(Some("0"), None), None);
        assert_eq!(every(Some("soon"), None), None);
        assert!(Notifier::new(OsStr::new("vsock:2:9"), None, None, 1).is_err());
        assert!(Notifier::new(OsStr::new(""), None, None, 1).is_err());
    }

    #[test]
    fn a_missing_listener_is_not_an_error() {
        let n = Notifier::new(OsStr::new("/nonexistent/notify"), None, None, 1).unwrap();
        n.send("READY=1");
    }
}
