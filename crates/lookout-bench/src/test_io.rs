//! Test input: an `AsyncRead` that returns given pieces one read at a time, so a parser can be
//! checked with its input split at any point.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

pub(crate) struct Pieces(VecDeque<Vec<u8>>);

impl Pieces {
    /// `data` cut at each of `cuts` (ascending offsets).
    pub(crate) fn split(data: &[u8], cuts: &[usize]) -> Self {
        let mut out = VecDeque::new();
        let mut start = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            out.push_back(data[start..c].to_vec());
            start = c;
        }
        Self(out)
    }
}

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Empty pieces would read as EOF; skip them.
        while self.0.front().is_some_and(Vec::is_empty) {
            self.0.pop_front();
        }
        if let Some(front) = self.0.front_mut() {
            let n = front.len().min(buf.remaining());
            buf.put_slice(&front[..n]);
            front.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}
