//! What a command writes on its standard output, and turning those bytes into frames: JPEGs
//! back to back (MJPEG), or an H.264 Annex B byte stream.

use crate::FrameSink;
use crate::splitter::JpegSplitter;
use bytes::BytesMut;
use lookout_core::h264::{AnnexBReader, MAX_NAL_BYTES};
use lookout_core::{Error, ErrorKind};
use std::time::{Instant, SystemTime};

/// `format` of a `command` camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommandFormat {
    /// JPEGs back to back (`ffmpeg -f mjpeg -`, `rpicam-vid --codec mjpeg`).
    #[default]
    Mjpeg,
    /// H.264 Annex B (`ffmpeg -f h264 -`, `rpicam-vid --codec h264 --inline`), passed through.
    H264,
}

impl CommandFormat {
    /// The config names, for the config error that lists them.
    pub const NAMES: [&'static str; 2] = ["mjpeg", "h264"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "mjpeg" => Some(Self::Mjpeg),
            "h264" => Some(Self::H264),
            _ => None,
        }
    }
}

/// Bytes of output without one H.264 start code after which the program is taken to write
/// something else: a second of 8 Mbit/s video always holds several.
pub const NOT_H264_AFTER_BYTES: u64 = 1 << 20;

/// Reads a program's output in its format and publishes what it finds.
pub(super) enum OutputReader {
    Jpeg(JpegSplitter),
    H264 {
        reader: AnnexBReader,
        buf: BytesMut,
        /// A pipe carries no timestamps: pts is the arrival time on the monotonic clock.
        started: Instant,
        units: u64,
    },
}

impl OutputReader {
    pub(super) fn new(format: CommandFormat, max_frame_bytes: usize) -> Self {
        match format {
            CommandFormat::Mjpeg => Self::Jpeg(JpegSplitter::new(max_frame_bytes)),
            CommandFormat::H264 => Self::H264 {
                reader: AnnexBReader::new(max_frame_bytes.min(MAX_NAL_BYTES)),
                buf: BytesMut::new(),
                started: Instant::now(),
                units: 0,
            },
        }
    }

    /// Where the next read goes.
    pub(super) fn buffer_mut(&mut self) -> &mut BytesMut {
        match self {
            Self::Jpeg(s) => s.buffer_mut(),
            Self::H264 { buf, .. } => buf,
        }
    }

    /// Publishes the frames completed by the bytes just read; returns how many there were (the
    /// program is alive while it sends frames). Errors: the program does not write H.264.
    pub(super) fn publish(&mut self, sink: &FrameSink, program: &str) -> Result<u64, Error> {
        let mut frames = 0;
        match self {
            Self::Jpeg(splitter) => {
                while let Some(frame) = splitter.next_frame() {
                    match frame {
                        Ok(f) => {
                            frames += 1;
                            sink.publish_checked(f.jpeg, f.width, f.height, SystemTime::now());
                        }
                        Err(why) => sink.drop_frame(why),
                    }
                }
            }
            Self::H264 {
                reader,
                buf,
                started,
                units,
            } => {
                reader.push(buf);
                buf.clear();
                while let Some(unit) = reader.next_access_unit() {
                    match unit {
                        Ok(au) => {
                            frames += 1;
                            // 90 kHz ticks since start: u64 lasts 6.5 million years.
                            let pts_90k = (started.elapsed().as_micros() * 9 / 100) as u64;
                            sink.publish_h264(au, SystemTime::now(), pts_90k);
                        }
                        Err(e) => sink.drop_frame(e.message()),
                    }
                }
                *units += frames;
                if *units == 0 && reader.discarded_bytes() > NOT_H264_AFTER_BYTES {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "format = \"h264\" but `{program}` does not write H.264 Annex B: no start code in its first {} KiB; make it write raw H.264 (ffmpeg: -f h264 -; rpicam-vid: --codec h264 -o -) or set format = \"mjpeg\"",
                            NOT_H264_AFTER_BYTES / 1024
                        ),
                    ));
                }
            }
        }
        Ok(frames)
    }
}
