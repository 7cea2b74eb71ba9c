//! A command's standard error, read for as long as the program runs: bytes in fixed chunks
//! (any bytes: one that is not UTF-8 must not stop the reading, or the program dies of SIGPIPE
//! at its next message), split into lines at `\n` and at `\r` (ffmpeg's progress line), each
//! line cut at [`MAX_LINE_BYTES`]. Lines go to the log, rate-limited, with URL passwords
//! masked; the last few are kept to say why the program failed.

use lookout_core::log_limiter::LogLimiter;
use lookout_core::redact::mask_url_secrets;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Longer lines are cut here (and end with "…"): a program writing without newlines must
/// not grow memory (1.5 GB was seen before this limit).
pub const MAX_LINE_BYTES: usize = 1000;

/// The lines kept to explain a failure. ffmpeg's error is often two lines, the cause and
/// then the input it gave up on ("No such filter: 'testsrc3'", "testsrc3: Invalid argument").
const TAIL_LINES: usize = 3;

/// Read size: the most stderr bytes held at once besides the line being built.
const CHUNK_BYTES: usize = 8 * 1024;

/// Lines logged per camera and minute; past it they are counted and the count is logged
/// with the next line allowed.
const LOG_BURST: u32 = 20;
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The last lines a program wrote on its standard error.
#[derive(Debug, Default)]
pub struct StderrTail {
    lines: Mutex<VecDeque<String>>,
}

impl StderrTail {
    fn push(&self, line: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The last lines joined by " | ", or `None` if the program said nothing.
    pub fn summary(&self) -> Option<String> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        (!lines.is_empty()).then(|| Vec::from(lines.clone()).join(" | "))
    }
}

/// Reads `stderr` to its end, logging each line for `camera` and keeping the last ones in
/// `tail`. Memory stays bounded whatever the program writes.
pub async fn drain(
    mut stderr: impl AsyncRead + Unpin,
    camera: &str,
    program: &str,
    tail: &StderrTail,
) {
    let limiter = LogLimiter::with_burst(LOG_BURST, LOG_INTERVAL);
    let mut lines = LineSplitter::default();
    let mut chunk = vec![0u8; CHUNK_BYTES];
    let mut emit = |line: String| {
        if let Some(held_back) = limiter.allow() {
            if held_back > 0 {
                tracing::info!(
                    camera,
                    program,
                    "({held_back} more lines of its stderr not logged)"
                );
            }
            tracing::info!(camera, program, "{line}");
        }
        tail.push(line);
    };
    loop {
        match stderr.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => lines.push(&chunk[..n], &mut emit),
            // EINTR is retried inside tokio; anything else means the pipe is gone.
            Err(e) => {
                tracing::debug!(camera, program, "reading its stderr: {e}");
                break;
            }
        }
    }
    lines.finish(&mut emit);
}

/// Splits bytes into lines at `\n` or `\r`, keeping at most [`MAX_LINE_BYTES`] of each.
#[derive(Debug, Default)]
struct LineSplitter {
    current: Vec<u8>,
    /// Bytes of the current line were dropped past the limit.
    cut: bool,
}

impl LineSplitter {
    fn push(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(String)) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.take(&bytes[..end]);
            self.finish(emit);
            bytes = &bytes[end + 1..];
        }
        self.take(bytes);
    }

    fn take(&mut self, bytes: &[u8]) {
        let room = MAX_LINE_BYTES - self.current.len();
        if bytes.len() > room {
            self.cut = true;
        }
        self.current
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Emits the line being built, unless it is blank (`\r\n` and empty lines).
    fn finish(&mut self, emit: &mut impl FnMut(String)) {
        let line = clean(&self.current, self.cut);
        self.current.clear();
        self.cut = false;
        if !line.is_empty() {
            emit(line);
        }
    }
}

/// A line fit for the log and the API: invalid UTF-8 and control characters (escape
/// sequences, NUL) become U+FFFD, URL passwords `***`, a cut line ends with "…".
fn clean(bytes: &[u8], cut: bool) -> String {
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => char::REPLACEMENT_CHARACTER,
            c => c,
        })
        .collect();
    let mut line = mask_url_secrets(text.trim_end()).into_owned();
    if cut && !line.is_empty() {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut s = LineSplitter::default();
        for c in chunks {
            s.push(c, &mut |l| out.push(l));
        }
        s.finish(&mut |l| out.push(l));
        out
    }

    #[test]
    fn lines_end_at_newline_or_carriage_return_across_chunks() {
        assert_eq!(
            split(&[
                b"frame=  1\rframe=  2\r",
                b"err",
                b"or one\n\nerror two\r\nlast"
            ]),
            ["frame=  1", "frame=  2", "error one", "error two", "last"]
        );
    }

    #[test]
    fn long_lines_are_cut_and_marked_and_the_next_line_is_whole() {
        let long = vec![b'x'; 3 * MAX_LINE_BYTES];
        let lines = split(&[&long[..1500], &long[1500..], b"\nnext\n"]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], format!("{}…", "x".repeat(MAX_LINE_BYTES)));
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn bytes_that_are_not_utf8_or_controls_are_replaced_not_fatal() {
        assert_eq!(
            split(&[
                b"bad \xff\xfe bytes\x1b[31m red\x00\n",
                b"rtsp://u:pw@cam/x failed\n"
            ]),
            [
                "bad \u{fffd}\u{fffd} bytes\u{fffd}[31m red\u{fffd}",
                "rtsp://u:***@cam/x failed"
            ]
        );
    }

    #[tokio::test]
    async fn drain_keeps_the_last_lines() {
        let tail = StderrTail::default();
        assert_eq!(tail.summary(), None);
        let text: &[u8] = b"banner\n[lavfi] No such filter: 'x'\nx: Invalid argument\n";
        drain(text, "cam", "ffmpeg", &tail).await;
        assert_eq!(
            tail.summary().as_deref(),
            Some("banner | [lavfi] No such filter: 'x' | x: Invalid argument")
        );
        drain(&b"one\ntwo\nthree\nfour"[..], "cam", "ffmpeg", &tail).await;
        assert_eq!(tail.summary().as_deref(), Some("two | three | four"));
    }
}
