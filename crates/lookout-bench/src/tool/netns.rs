//! Viewers and server in two network namespaces of the bench's own, joined by a veth pair, so
//! that the viewers' traffic crosses a network device instead of loopback. This process (the
//! viewers) moves into a new namespace; the server's is held open by a `sleep` in it, and the
//! server is started in it with `nsenter`. Nothing outside the two namespaces is touched, and
//! both vanish when the bench exits.

use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};

/// The server's end of the veth pair (addresses exist only inside our namespaces).
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 17, 1);
/// The viewers' end.
pub const VIEWER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 17, 2);
/// Device names, in the viewers' namespace and the server's.
const VIEWER_DEV: &str = "lkb-view";
const SERVER_DEV: &str = "lkb-serve";

pub struct Namespaces {
    /// `sleep infinity` in the server's namespace, keeping it alive; killed on drop.
    holder: Child,
}

impl Namespaces {
    /// Moves this thread, and so the threads and processes it starts afterwards, into a new
    /// network namespace, makes the server's, and joins them. Call it before starting the
    /// runtime: threads that exist already stay where they are. With `rps_cpus` (a hex CPU
    /// mask), each side's veth hands its receive work to those CPUs (Receive Packet Steering),
    /// as a NIC's interrupt on another core would, instead of doing it in the sender's context.
    pub fn create(rps_cpus: Option<&str>) -> io::Result<Self> {
        // SAFETY: unshare only changes which namespace this thread belongs to.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "cannot make a network namespace for the viewers (unshare(CLONE_NEWNET): {e}); \
                     run as root, or inside `unshare -r`"
                ),
            ));
        }
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "infinity"])
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot run unshare (util-linux): {e}"))
            })?;
        let ns = Self { holder };
        // `unshare` execs sleep once the namespace is made; wait until it has.
        let own = std::fs::read_link("/proc/thread-self/ns/net")?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_link(format!("/proc/{}/ns/net", ns.holder.id()))? == own
            || std::fs::read_link(format!("/proc/{}/exe", ns.holder.id()))?
                .file_name()
                .is_none_or(|n| n != "sleep")
        {
            if std::time::Instant::now() > deadline {
                return Err(io::Error::other(
                    "`unshare --net sleep infinity` made no namespace within 5 s",
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let pid = ns.holder.id().to_string();
        ip(&["link", "set", "lo", "up"])?;
        ip(&[
            "link", "add", VIEWER_DEV, "type", "veth", "peer", "name", SERVER_DEV, "netns", &pid,
        ])?;
        ip(&["addr", "add", &format!("{VIEWER_IP}/24"), "dev", VIEWER_DEV])?;
        ip(&["link", "set", VIEWER_DEV, "up"])?;
        let mut in_server = vec!["nsenter", "-t", &pid, "-n", "ip"];
        for args in [
            &["link", "set", "lo", "up"][..],
            &["addr", "add", &format!("{SERVER_IP}/24"), "dev", SERVER_DEV],
            &["link", "set", SERVER_DEV, "up"],
        ] {
            in_server.truncate(5);
            in_server.extend_from_slice(args);
            run(&in_server)?;
        }
        if let Some(mask) = rps_cpus {
            // /sys/class/net shows the devices of the namespace sysfs was mounted in: mount it
            // anew in a mount namespace of its own, inside each network namespace.
            let set = format!(
                "mount -t sysfs sysfs /sys && echo {mask} > /sys/class/net/$0/queues/rx-0/rps_cpus"
            );
            run(&["unshare", "--mount", "sh", "-c", &set, VIEWER_DEV])?;
            run(&[
                "nsenter", "-t", &pid, "-n", "unshare", "--mount", "sh", "-c", &set, SERVER_DEV,
            ])?;
        }
        Ok(ns)
    }

    /// Where the server listens: its end of the veth, on `port`.
    pub fn server_addr(port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(SERVER_IP), port)
    }

    /// The command line that runs a program in the server's namespace (`nsenter` execs it, so
    /// the pid stays the program's).
    pub fn wrapper(&self) -> Vec<OsString> {
        ["nsenter", "-t", &self.holder.id().to_string(), "-n", "--"]
            .iter()
            .map(OsString::from)
            .collect()
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn ip(args: &[&str]) -> io::Result<()> {
    let mut all = vec!["ip"];
    all.extend_from_slice(args);
    run(&all)
}

/// Runs `argv` to completion; an error names the command and what it printed.
fn run(argv: &[&str]) -> io::Result<()> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::other("an empty command line"))?;
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "`{}` failed ({}): {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}
