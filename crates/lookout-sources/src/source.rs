//! The contract between a source and its supervisor.

use crate::FrameSink;
use lookout_core::Error;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A camera's frame producer: a device, a process, a connection or a generator.
///
/// `run` captures until it fails and returns why; the supervisor logs it, shows it in the API,
/// publishes "no signal" frames and calls `run` again after a backoff. Dropping the future
/// stops the source (closes the device, kills the process): it is how the supervisor stops
/// capture when nobody watches, and at shutdown.
pub trait Source: Send + Sync + 'static {
    /// A short name of the kind, for logs and the API ("testpattern", "command"...).
    fn kind(&self) -> &'static str;

    fn run<'a>(&'a self, sink: &'a FrameSink) -> BoxFuture<'a, Result<(), Error>>;

    /// The time between frames when the source knows it (a set rate). A slow source (one
    /// frame every 5 s) must not be taken for a dead one between two frames.
    fn frame_interval(&self) -> Option<Duration> {
        None
    }
}
