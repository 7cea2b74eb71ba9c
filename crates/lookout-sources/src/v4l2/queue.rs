//! The hand-over from the capture thread to the async side: a tiny queue that drops its
//! oldest item when full, so a slow consumer sees the newest frames instead of a growing
//! backlog of old ones (latency never builds up), plus the reason capture ended.
//!
//! The sender is a plain blocking thread and never waits; the receiver awaits. Dropping the
//! receiver tells the sender to stop; dropping the sender (or [`Sender::finish`]) ends the
//! receiver once it has taken what is queued.

use lookout_core::{Error, ErrorKind};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

struct State<T> {
    items: VecDeque<T>,
    /// Why the sender stopped; `Some` once it has.
    ended: Option<Error>,
    receiver_gone: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    notify: Notify,
    capacity: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock leaves the queue consistent: keep using it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A queue holding at most `capacity` (at least 1) items.
pub fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            ended: None,
            receiver_gone: false,
        }),
        notify: Notify::new(),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues `item`, dropping the oldest queued one when full; returns how many were dropped
    /// (0 or 1).
    pub fn push(&self, item: T) -> usize {
        let mut state = self.shared.lock();
        let mut dropped = 0;
        while state.items.len() >= self.shared.capacity {
            state.items.pop_front();
            dropped += 1;
        }
        state.items.push_back(item);
        drop(state);
        self.shared.notify.notify_one();
        dropped
    }

    /// Whether the receiver is gone: time to stop.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().receiver_gone
    }

    /// Ends the queue with `why`; the receiver returns it after the queued items.
    pub fn finish(self, why: Error) {
        self.end(why);
    }

    fn end(&self, why: Error) {
        let mut state = self.shared.lock();
        if state.ended.is_none() {
            state.ended = Some(why);
        }
        drop(state);
        self.shared.notify.notify_one();
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Without an explicit reason (a panic on the capture thread), the receiver still ends.
        self.end(Error::new(
            ErrorKind::Internal,
            "the capture thread stopped unexpectedly",
        ));
    }
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The oldest queued item; once the sender has ended and nothing is left, why it ended.
    pub async fn recv(&mut self) -> Result<T, Error> {
        loop {
            {
                let mut state = self.shared.lock();
                if let Some(item) = state.items.pop_front() {
                    return Ok(item);
                }
                if let Some(why) = &state.ended {
                    return Err(why.clone());
                }
            }
            // A push between the unlock and this await leaves a permit: no lost wake-up.
            self.shared.notify.notified().await;
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.lock().receiver_gone = true;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_the_oldest() {
        let (tx, mut rx) = queue(2);
        assert_eq!(tx.push(1), 0);
        assert_eq!(tx.push(2), 0);
        assert_eq!(tx.push(3), 1);
        assert_eq!(rx.recv().await.unwrap(), 2);
        assert_eq!(rx.recv().await.unwrap(), 3);
    }

    #[tokio::test]
    async fn the_reason_comes_after_the_queued_items() {
        let (tx, mut rx) = queue(4);
        tx.push("a");
        tx.finish(Error::new(ErrorKind::Unavailable, "unplugged"));
        assert_eq!(rx.recv().await.unwrap(), "a");
        let err = rx.recv().await.unwrap_err();
        assert_eq!(
            (err.kind(), err.message()),
            (ErrorKind::Unavailable, "unplugged")
        );
        // And stays.
        assert!(rx.recv().await.is_err());
    }

    #[tokio::test]
    async fn a_dropped_sender_ends_the_receiver() {
        let (tx, mut rx) = queue::<u8>(1);
        drop(tx);
        assert_eq!(rx.recv().await.unwrap_err().kind(), ErrorKind::Internal);
    }

    #[tokio::test]
    async fn the_receiver_wakes_for_an_item_from_another_thread() {
        let (tx, mut rx) = queue(1);
        let thread = std::thread::spawn(move || {
            tx.push(7);
            tx
        });
        assert_eq!(rx.recv().await.unwrap(), 7);
        let tx = thread.join().unwrap();
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
    }
}
