//! The bench tool's subcommands and what they share; these are the binary's modules, the
//! library (the HTTP client) knows nothing of them.

pub mod fanout;
pub mod floor;
pub mod jpeg;
pub mod memory;
pub mod motion;
pub mod record;
pub mod ros;
pub mod watch;
#[cfg(feature = "webrtc")]
pub mod webrtc;
pub mod webrtc_latency;

mod credentials;
mod jpeg_folder;
mod netns;
mod procfs;
mod report;
mod runtime;
mod server;
mod stamped_fifo;
mod stats;
mod synthetic;
mod time_cells;
mod viewer;
