//! What Linux tells about a process and the machine: memory and CPU time from `/proc`, a
//! process's descendants, the open-files limit, the CPU model.

use std::io;

/// Resident memory of a process, in KiB, and its thread count.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the most it has been resident since it started.
    pub peak_kib: u64,
    /// `RssAnon`: the heap, thread stacks and other private memory of `rss_kib`.
    pub anon_kib: u64,
    /// `RssFile`: the pages of the binary and libraries in `rss_kib` (shared with other
    /// processes running them, dropped first under memory pressure).
    pub file_kib: u64,
    /// `Threads`.
    pub threads: u64,
}

pub fn memory(pid: u32) -> io::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> io::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| {
                let v = v.trim();
                v.strip_suffix("kB").unwrap_or(v).trim().parse().ok()
            })
            .ok_or_else(|| io::Error::other(format!("no {name} in /proc/{pid}/status")))
    };
    Ok(Memory {
        rss_kib: field("VmRSS")?,
        peak_kib: field("VmHWM")?,
        anon_kib: field("RssAnon")?,
        file_kib: field("RssFile")?,
        threads: field("Threads")?,
    })
}

/// User plus system CPU time a process has used, in seconds.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = parse_cpu_ticks(&stat)
        .ok_or_else(|| io::Error::other(format!("cannot parse /proc/{pid}/stat")))?;
    Ok(ticks as f64 / clock_ticks_per_second())
}

/// A process's CPU time so far, split as the kernel counts it: in user space (`utime`) and in
/// the kernel on its behalf (`stime`: system calls, and the softirq work such as TCP receive
/// that runs while it is the current task), in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSplit {
    pub user_s: f64,
    pub system_s: f64,
}

impl std::ops::Sub for CpuSplit {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self {
            user_s: self.user_s - rhs.user_s,
            system_s: self.system_s - rhs.system_s,
        }
    }
}

/// [`cpu_seconds`] split into user and system time.
pub fn cpu_split(pid: u32) -> io::Result<CpuSplit> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let s = parse_stat(&stat)
        .ok_or_else(|| io::Error::other(format!("cannot parse /proc/{pid}/stat")))?;
    let hz = clock_ticks_per_second();
    Ok(CpuSplit {
        user_s: s.utime as f64 / hz,
        system_s: s.stime as f64 / hz,
    })
}

/// `utime + stime` from a `/proc/PID/stat` line (fields 14 and 15, proc(5)): the process's
/// own threads only; `cutime`/`cstime` (children it has waited for) are fields 16 and 17 and
/// are not counted.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    parse_stat(stat).map(|s| s.ticks)
}

/// What we read from a `/proc/PID/stat` line.
#[derive(Debug, PartialEq, Eq)]
struct Stat<'a> {
    /// Field 2, without its parentheses.
    comm: &'a str,
    /// Field 4.
    ppid: u32,
    /// Fields 14 and 15, `utime + stime`.
    ticks: u64,
    /// Field 14.
    utime: u64,
    /// Field 15.
    stime: u64,
}

/// The command name (field 2) is in parentheses and may hold spaces and `)`, so fields are
/// counted from the last `)`.
fn parse_stat(stat: &str) -> Option<Stat<'_>> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let mut fields = stat[close + 1..].split_ascii_whitespace(); // field 3 is the first here
    let ppid = fields.nth(1)?.parse().ok()?;
    let mut fields = fields.skip(9); // fields 5 to 13
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Stat {
        comm,
        ppid,
        ticks: utime + stime,
        utime,
        stime,
    })
}

/// A process and the CPU time it has used so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessCpu {
    pub pid: u32,
    /// Its command name (`comm`), e.g. `ffmpeg`.
    pub name: String,
    /// `utime + stime` in seconds.
    pub cpu_s: f64,
}

/// Every process descended from `root` (its children, their children...) as `/proc` shows
/// them now. Processes that exit while `/proc` is read are left out.
pub fn descendants(root: u32) -> Vec<ProcessCpu> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut all = Vec::new(); // (pid, ppid, name, ticks)
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some(s) = parse_stat(&text) {
            all.push((pid, s.ppid, s.comm.to_owned(), s.ticks));
        }
    }
    descendants_of(root, all, clock_ticks_per_second())
}

fn descendants_of(
    root: u32,
    mut all: Vec<(u32, u32, String, u64)>,
    ticks_per_s: f64,
) -> Vec<ProcessCpu> {
    let mut found = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        let (kids, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|p| p.1 == parent);
        all = rest;
        for (pid, _, name, ticks) in kids {
            parents.push(pid);
            found.push(ProcessCpu {
                pid,
                name,
                cpu_s: ticks as f64 / ticks_per_s,
            });
        }
    }
    found.sort_by_key(|p| p.pid);
    found
}

/// CPU time this process has used, in seconds, all threads (a decoder may start its own):
/// unlike wall time it does not grow while other jobs hold the cores (the bench runs on a
/// shared 2-core machine).
pub fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to write.
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // 100 is USER_HZ on every Linux architecture we run on, should sysconf fail.
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Raises this process's soft limit on open files to the hard limit (1000 viewers need 1000
/// sockets; the soft limit is often 1024). Returns the new soft limit.
pub fn raise_open_files_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit for getrlimit to write.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit for setrlimit to read.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(lim.rlim_cur)
}

/// `CPU model, N CPUs, M GiB RAM`, for the report.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "model name").then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or_else(
            || "unknown".into(),
            |kib| format!("{:.1}", kib / 1024.0 / 1024.0),
        );
    format!("{model}, {cpus} CPUs (nproc), {mem_gib} GiB RAM")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_from_the_last_paren() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn stat_gives_name_parent_and_ticks() {
        let stat = "1234 (my (odd) name) S 77 1234 1234 0 -1 4194560 100 0 0 0 250 50 9 9 20 0 1 0";
        assert_eq!(
            parse_stat(stat),
            Some(Stat {
                comm: "my (odd) name",
                ppid: 77,
                ticks: 300,
                utime: 250,
                stime: 50,
            })
        );
        assert_eq!(parse_stat("12 (x) S 1 2"), None);
    }

    #[test]
    fn descendants_are_children_and_grandchildren() {
        let all = vec![
            (10, 1, "server".into(), 0),
            (11, 10, "sh".into(), 100),
            (12, 11, "ffmpeg".into(), 250),
            (13, 1, "other".into(), 500),
            (14, 10, "ffmpeg".into(), 50),
        ];
        let found = descendants_of(10, all, 100.0);
        let got: Vec<(u32, &str, f64)> = found
            .iter()
            .map(|p| (p.pid, p.name.as_str(), p.cpu_s))
            .collect();
        assert_eq!(
            got,
            [(11, "sh", 1.0), (12, "ffmpeg", 2.5), (14, "ffmpeg", 0.5)]
        );
        assert!(descendants_of(13, Vec::new(), 100.0).is_empty());
    }

    #[test]
    fn a_spawned_child_is_found() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("run sleep");
        let found = descendants(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            found
                .iter()
                .any(|p| p.pid == child.id() && p.name == "sleep"),
            "{found:?}"
        );
    }

    #[test]
    fn own_process_has_memory_and_cpu() {
        let me = std::process::id();
        let m = memory(me).expect("our /proc status");
        assert!(m.rss_kib > 0 && m.peak_kib >= m.rss_kib);
        assert!(cpu_seconds(me).expect("our /proc stat") >= 0.0);
        // Burn a little user time: it must show in the split, which sums to the total.
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let split = cpu_split(me).expect("our /proc stat");
        assert!(split.user_s > 0.0 && split.system_s >= 0.0, "{split:?} {x}");
    }
}
