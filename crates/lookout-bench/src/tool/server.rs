//! The server under test: `lookout serve` as a child process with a config we write, on a free
//! port, its output in a log file; stopped with SIGTERM as an operator would.

use std::ffi::OsString;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long a server may take to answer `/healthz` with 200.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a server may take to exit after SIGTERM before it gets SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Server {
    child: Child,
    pid: u32,
    pub addr: SocketAddr,
    dir: ScratchDir,
}

impl Server {
    /// Writes `config_toml` and starts `bin serve` on a free local port; returns once
    /// `/healthz` answers 200.
    pub async fn start(bin: &Path, config_toml: &str) -> io::Result<Self> {
        Self::start_with_env(bin, config_toml, &[]).await
    }

    /// [`Server::start`] with extra environment variables for the server.
    pub async fn start_with_env(
        bin: &Path,
        config_toml: &str,
        env: &[(String, String)],
    ) -> io::Result<Self> {
        let launch = Launch {
            wrapper: Vec::new(),
            addr: free_port()?,
            env: env.to_vec(),
        };
        Self::start_lookout(bin, config_toml, &launch).await
    }

    /// Writes `config_toml` and starts `bin serve` as `launch` says; returns once `/healthz`
    /// answers 200.
    pub async fn start_lookout(bin: &Path, config_toml: &str, launch: &Launch) -> io::Result<Self> {
        let dir = ScratchDir::new()?;
        let config = dir.path.join("lookout.toml");
        std::fs::write(&config, config_toml)?;
        let args = [
            OsString::from("serve"),
            "--config".into(),
            config.into(),
            "--listen".into(),
            launch.addr.to_string().into(),
        ];
        Self::spawn(&absolute(bin)?, &args, dir, launch).await
    }

    /// Starts `lookout-bench floor-server` (this very program) playing the JPEGs of `folder`
    /// at `fps`, as `launch` says; returns once `/healthz` answers 200.
    pub async fn start_floor(folder: &Path, fps: u32, launch: &Launch) -> io::Result<Self> {
        let args = [
            OsString::from("floor-server"),
            "--listen".into(),
            launch.addr.to_string().into(),
            "--dir".into(),
            folder.into(),
            "--fps".into(),
            fps.to_string().into(),
        ];
        Self::spawn(&std::env::current_exe()?, &args, ScratchDir::new()?, launch).await
    }

    async fn spawn(
        bin: &Path,
        args: &[OsString],
        dir: ScratchDir,
        launch: &Launch,
    ) -> io::Result<Self> {
        let log = std::fs::File::create(dir.path.join("server.log"))?;
        // A wrapper (`nsenter ... --`) execs the server in its own place: the child's pid is
        // the server's.
        let mut command = match launch.wrapper.split_first() {
            Some((program, wrapper_args)) => {
                let mut c = Command::new(program);
                c.args(wrapper_args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        // The server runs in the scratch directory, which holds its config and log.
        let child = command
            .args(args)
            .current_dir(&dir.path)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run {}: {e}", bin.display())))?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("the server exited at once"))?;
        let mut server = Self {
            child,
            pid,
            addr: launch.addr,
            dir,
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    async fn wait_healthy(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(self.failure(&format!("the server exited ({status}) while starting")));
            }
            let probe = tokio::time::timeout(
                Duration::from_secs(1),
                lookout_bench::get(self.addr, "/healthz", &[]),
            );
            if let Ok(Ok(r)) = probe.await
                && r.status == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.failure(&format!(
                    "GET /healthz on {} gave no 200 within {START_TIMEOUT:?}",
                    self.addr
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `Some(status)` if the server has already exited.
    pub fn exited(&mut self) -> io::Result<Option<std::process::ExitStatus>> {
        self.child.try_wait()
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s. Returns how long it took and
    /// whether SIGKILL was needed.
    pub async fn stop(mut self) -> io::Result<(Duration, bool)> {
        let start = Instant::now();
        if self.child.try_wait()?.is_some() {
            return Ok((Duration::ZERO, false));
        }
        let pid = libc::pid_t::try_from(self.pid).map_err(io::Error::other)?;
        // SAFETY: kill only sends a signal; `pid` is our child, not yet reaped (try_wait above
        // saw it running), so the id cannot have been reused.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Err(io::Error::last_os_error());
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                status?;
                Ok((start.elapsed(), false))
            }
            Err(_) => {
                self.child.kill().await?;
                Ok((start.elapsed(), true))
            }
        }
    }

    /// An error with the end of the server's log, to see why it failed.
    pub fn failure(&self, what: &str) -> io::Error {
        let log = std::fs::read_to_string(self.dir.path.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n  ");
        io::Error::other(format!("{what}; end of its log:\n  {tail}"))
    }
}

/// Where and how a server is started.
pub struct Launch {
    /// A program and its arguments that run the server's command line (`nsenter -t PID -n
    /// --`); the server must be what it execs, so that the child's pid is the server's.
    pub wrapper: Vec<OsString>,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

/// `bin` as an absolute path when it has a directory part: the server runs in its scratch
/// directory, where a relative path given on our command line (`target/release/lookout`)
/// would not be found. A bare name stays as it is and is looked up on PATH.
fn absolute(bin: &Path) -> io::Result<PathBuf> {
    if bin.components().count() > 1 {
        bin.canonicalize()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot find {}: {e}", bin.display())))
    } else {
        Ok(bin.to_path_buf())
    }
}

/// A port nobody listens on now: bind port 0, read the port, let it go. Another process could
/// take it before the server binds it; on a bench machine that does not happen.
pub fn free_port() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A directory of our own under the system's temporary folder (one server's config and log, or
/// the bench's camera files), removed with what is in it when dropped.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn new() -> io::Result<Self> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("lookout-bench-{}-{n}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
