//! A small HTTP/1.1 client for Lookout's integration tests and its bench tool: one-shot GETs
//! ([`get`]), live `multipart/x-mixed-replace` MJPEG streams ([`open_stream`]) and live
//! fragmented MP4 ([`open_mp4_stream`]), written over a plain `tokio::net::TcpStream` (no
//! hyper) so that 1000 streams cost the client little and what the bench measures is the server.
//!
//! All of them send `Connection: close` and read until the response ends; none has a
//! timeout of its own, so wrap calls in `tokio::time::timeout` where a hang must fail a test.
//! Response bodies may be chunked (`Transfer-Encoding: chunked`, what hyper sends for a streamed
//! body such as our MJPEG), sized by `Content-Length`, or delimited by the end of the connection.

mod body;
mod conn;
pub mod floor_wire;
mod head;
mod headers;
mod mjpeg;
mod mp4;
mod part;
mod request;
mod response;
mod timestamp;

#[cfg(test)]
mod test_io;

pub use mjpeg::{MjpegStream, open_stream, open_stream_on};
pub use mp4::{Mp4Box, Mp4Stream, open_mp4_stream};
pub use part::Part;
pub use response::{Response, get, get_on, request};
pub use timestamp::parse_unix_timestamp;
