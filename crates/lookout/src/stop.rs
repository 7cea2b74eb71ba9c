//! The end of a long-running task (a connection, a stream) as a future that is cheap to poll
//! again and again.
//!
//! A connection or an MJPEG viewer is polled once per frame, and each poll also polls what ends
//! it. `CancellationToken::cancelled()` takes the token's lock and its waiter list's lock on
//! every poll; on the server's shutdown token, which every connection on both runtime threads
//! waits on, those are two locks per viewer per frame passed between the cores (a profile of
//! 100 viewers had 2.6 % of the server's CPU there, and 3.5 % more in the viewers' own two
//! tokens). [`Stop`] waits on a token of its own (a child) and, while the task's waker is the
//! one that token's waiter list holds already, only reads the token's flag.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Ready once `token` is cancelled. Made once per task and kept (`&mut stop` in a `select!`).
pub struct Stop {
    token: CancellationToken,
    wait: Pin<Box<WaitForCancellationFutureOwned>>,
    /// The waker `wait` registered when it last returned `Pending`.
    registered: Option<Waker>,
}

impl Stop {
    /// Ends when `token` is cancelled: give it a token of the task's own (`child_token()`), so
    /// that its waiter list is not shared.
    pub fn new(token: CancellationToken) -> Self {
        Self {
            wait: Box::pin(token.clone().cancelled_owned()),
            token,
            registered: None,
        }
    }
}

impl Future for Stop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            // The cancellation wakes that waker, so this task is polled again then.
            return if this.token.is_cancelled() {
                Poll::Ready(())
            } else {
                Poll::Pending
            };
        }
        let poll = this.wait.as_mut().poll(cx);
        if poll.is_pending() {
            this.registered = Some(cx.waker().clone());
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn ends_when_its_token_or_a_parent_is_cancelled_while_polled_again_and_again() {
        let shutdown = CancellationToken::new();
        let mut stop = Stop::new(shutdown.child_token());
        let (frames, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let task = tokio::spawn(async move {
            let mut seen = 0;
            loop {
                tokio::select! {
                    biased;
                    Some(_) = rx.recv() => seen += 1,
                    () = &mut stop => return seen,
                }
            }
        });
        // Woken by frames many times, with the same waker: the stop must still come through.
        for n in 0..50 {
            frames.send(n).unwrap();
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!task.is_finished(), "ended before the cancellation");
        shutdown.cancel();
        let seen = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("did not end on the cancellation")
            .unwrap();
        assert_eq!(seen, 50);
    }

    #[tokio::test]
    async fn a_stop_first_polled_after_the_cancellation_is_ready() {
        let token = CancellationToken::new();
        token.cancel();
        Stop::new(token).await;
    }
}
