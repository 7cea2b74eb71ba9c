//! A program that writes MJPEG (JPEGs back to back) on its standard output: ffmpeg,
//! `rpicam-vid --codec mjpeg -o -`, gstreamer's `fdsink`... Its standard error goes to the
//! log; when it exits the supervisor restarts it with backoff.

use crate::splitter::JpegSplitter;
use crate::{BoxFuture, FrameSink, Source};
use lookout_core::{Error, ErrorKind};
use std::process::Stdio;
use std::time::SystemTime;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

#[derive(Debug, Clone)]
pub struct CommandSource {
    /// Program and arguments, run directly (no shell).
    pub argv: Vec<String>,
    pub max_frame_bytes: usize,
}

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
            let camera = sink.hub().id().to_owned();
            if let Some(stderr) = child.stderr.take() {
                let camera = camera.clone();
                let program = program.clone();
                // Ends by itself when the pipe closes, i.e. when the program exits or is killed.
                tokio::spawn(async move {
                    let mut lines = BufReader::new(stderr).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        // ffmpeg repeats its input URL in errors, password included.
                        let line = redact_passwords(&line);
                        tracing::info!(camera, program, "{line}");
                    }
                });
            }
            let mut stdout = child
                .stdout
                .take()
                .ok_or_else(|| Error::internal("child stdout missing"))?;
            let mut splitter = JpegSplitter::new(self.max_frame_bytes);
            loop {
                let buf = splitter.buffer_mut();
                buf.reserve(64 * 1024);
                let n = stdout.read_buf(buf).await.map_err(|e| {
                    Error::new(ErrorKind::Unavailable, format!("reading `{program}`: {e}"))
                })?;
                if n == 0 {
                    break;
                }
                while let Some(frame) = splitter.next_frame() {
                    match frame {
                        Ok(f) => sink.publish_checked(f.jpeg, f.width, f.height, SystemTime::now()),
                        Err(why) => sink.drop_frame(why),
                    }
                }
            }
            let status = child
                .wait()
                .await
                .map_err(|e| Error::internal(format!("waiting for `{program}`: {e}")))?;
            Err(Error::new(
                ErrorKind::Unavailable,
                format!("`{program}` exited ({status})"),
            ))
        })
    }
}

/// `rtsp://user:secret@host/…` → `rtsp://user:***@host/…`, wherever URLs appear in a line.
fn redact_passwords(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact_passwords;

    #[test]
    fn passwords_in_logged_urls_are_hidden() {
        assert_eq!(
            redact_passwords(
                "[rtsp @ 0x1] rtsp://viewer:s3cret@10.0.0.9:554/live: Connection timed out"
            ),
            "[rtsp @ 0x1] rtsp://viewer:***@10.0.0.9:554/live: Connection timed out"
        );
        assert_eq!(
            redact_passwords("a http://h/x and rtsp://u:p@ss@h2 end"),
            "a http://h/x and rtsp://u:***@h2 end"
        );
        assert_eq!(redact_passwords("no urls: a@b:c"), "no urls: a@b:c");
        assert_eq!(redact_passwords("rtsp://host:554/x"), "rtsp://host:554/x");
    }
}
