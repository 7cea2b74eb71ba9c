//! Where Lookout's frames come from: the [`Source`] trait, the [`supervisor`] that runs a
//! source with backoff and "no signal" frames, and each kind of source.
//!
//! Sources know nothing about viewers: they publish into a [`FrameSink`] and the hub does
//! the rest. This crate must never depend on HTTP-server, database or mail crates.

mod backoff;
pub mod command;
pub mod decode;
pub mod encode;
pub mod files;
pub mod http;
mod no_signal;
mod pacer;
pub mod ros;
pub mod rtsp;
mod sink;
mod source;
pub mod splitter;
pub mod supervisor;
pub mod testpattern;
pub mod v4l2;

pub use backoff::Backoff;
pub use sink::FrameSink;
pub use source::{BoxFuture, Source};
pub use supervisor::{SupervisorConfig, supervise};
