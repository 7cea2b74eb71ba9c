//! A program that writes MJPEG (JPEGs back to back) or H.264 Annex B (`format = "h264"`) on
//! its standard output: ffmpeg, `rpicam-vid -o -`, gstreamer's `fdsink`... Its standard error goes to the
//! log and its last lines into the error when it fails. A program that sends no frame for
//! `stall_timeout` is ended; either way the supervisor restarts it with backoff.

mod format;
mod pause;
mod stderr;

use crate::{BoxFuture, FrameSink, Source};
use lookout_core::{Error, ErrorKind};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::time::Instant;

pub use format::{CommandFormat, NOT_H264_AFTER_BYTES};
pub use stderr::MAX_LINE_BYTES;

#[derive(Debug, Clone)]
pub struct CommandSource {
    /// Program and arguments, run directly (no shell).
    pub argv: Vec<String>,
    /// What it writes: MJPEG or H.264.
    pub format: CommandFormat,
    pub max_frame_bytes: usize,
    /// A program alive but sending no frame this long is ended and restarted.
    pub stall_timeout: Duration,
}

/// How long a program's last stderr lines may take to arrive after it exited.
const STDERR_GRACE: Duration = Duration::from_secs(1);

impl Source for CommandSource {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn run<'a>(&'a self, sink: &'a FrameSink) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let (program, args) = self
                .argv
                .split_first()
                .ok_or_else(|| Error::invalid("empty command"))?;
            let mut child = Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // Its own process group, so that ending it also ends what it started (`sh -c`
                // running ffmpeg) and a Ctrl-C meant for Lookout does not reach it first.
                .process_group(0)
                // Dropping this future (nobody watching, shutdown) must end the program.
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "cannot start `{program}`: {e}; check that it is installed and on PATH"
                        ),
                    )
                })?;
            let _group = child.id().map(ProcessGroup);
            let tail = Arc::new(stderr::StderrTail::default());
            let stderr_reader = child.stderr.take().map(|pipe| {
                let (camera, program, tail) =
                    (sink.hub().id().to_owned(), program.clone(), tail.clone());
                // Ends by itself when the pipe closes (the program and its children exited),
                // or when this future is dropped.
                AbortOnDrop(tokio::spawn(async move {
                    stderr::drain(pipe, &camera, &program, &tail).await;
                }))
            });
            let said = |why: String| match tail.summary() {
                Some(lines) => format!("{why}; it said: {lines}"),
                None => why,
            };
            let mut stdout = child
                .stdout
                .take()
                .ok_or_else(|| Error::internal("child stdout missing"))?;
            let mut output = format::OutputReader::new(self.format, self.max_frame_bytes);
            let mut deadline = Instant::now() + self.stall_timeout;
            loop {
                // After a read that ended inside an H.264 picture, a short quiet may mean the
                // picture is complete (command/pause.rs); else wait for bytes up to the stall.
                let wake = output
                    .pause_wait()
                    .map_or(deadline, |quiet| deadline.min(Instant::now() + quiet));
                let buf = output.buffer_mut();
                buf.reserve(64 * 1024);
                // read_buf is cancel safe: bytes are never lost to the timeout.
                let n = match tokio::time::timeout_at(wake, stdout.read_buf(buf)).await {
                    Ok(read) => read.map_err(|e| {
                        Error::new(ErrorKind::Unavailable, format!("reading `{program}`: {e}"))
                    })?,
                    Err(_) if wake < deadline => {
                        if output.paused(sink) > 0 {
                            deadline = Instant::now() + self.stall_timeout;
                        }
                        continue;
                    }
                    Err(_) => {
                        return Err(Error::new(
                            ErrorKind::Unavailable,
                            said(format!(
                                "`{program}` sent no frame for {}; ended it to start it again (stall_timeout_ms)",
                                humantime::format_duration(self.stall_timeout)
                            )),
                        ));
                    }
                };
                if n == 0 {
                    break;
                }
                if output.publish(sink, program)? > 0 {
                    deadline = Instant::now() + self.stall_timeout;
                }
            }
            // A program that closed its output but lives on is ended like a silent one.
            let status = match tokio::time::timeout(self.stall_timeout, child.wait()).await {
                Ok(status) => {
                    status.map_err(|e| Error::internal(format!("waiting for `{program}`: {e}")))?
                }
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        said(format!(
                            "`{program}` closed its standard output but did not exit; ended it to start it again"
                        )),
                    ));
                }
            };
            // Its last words may still be in the pipe; a child it left behind may hold the
            // pipe open, so wait only a moment.
            if let Some(mut reader) = stderr_reader {
                let _ = tokio::time::timeout(STDERR_GRACE, &mut reader.0).await;
            }
            Err(Error::new(
                ErrorKind::Unavailable,
                said(format!("`{program}` exited ({status})")),
            ))
        })
    }
}

/// Kills a program's whole process group when dropped: `kill_on_drop` reaches only the
/// program itself, not the ffmpeg a `sh -c` started, which would live on after a restart.
struct ProcessGroup(u32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Ok(pgid) = libc::pid_t::try_from(self.0) {
            // SAFETY: kill(2) takes no pointers. The group was made by `process_group(0)`
            // with the program's pid as its id; at worst it is gone already (ESRCH).
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
