//! What a command writes on its standard output, and turning those bytes into frames: JPEGs
//! back to back (MJPEG), or an H.264 Annex B byte stream.

use super::pause::{self, OnPause, PausePolicy, Verdict};
use crate::FrameSink;
use crate::splitter::JpegSplitter;
use bytes::BytesMut;
use lookout_core::h264::{AnnexBReader, MAX_NAL_BYTES, begins_access_unit};
use lookout_core::{Error, ErrorKind};
use std::time::{Duration, Instant, SystemTime};

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
        // Boxed: the reader is large beside the JPEG splitter.
        reader: Box<AnnexBReader>,
        buf: BytesMut,
        clock: ArrivalClock,
        units: u64,
        pauses: PausePolicy,
    },
}

impl OutputReader {
    pub(super) fn new(format: CommandFormat, max_frame_bytes: usize) -> Self {
        match format {
            CommandFormat::Mjpeg => Self::Jpeg(JpegSplitter::new(max_frame_bytes)),
            CommandFormat::H264 => Self::H264 {
                reader: Box::new(AnnexBReader::new(max_frame_bytes.min(MAX_NAL_BYTES))),
                buf: BytesMut::new(),
                clock: ArrivalClock::new(),
                units: 0,
                pauses: PausePolicy::default(),
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
                clock,
                units,
                pauses,
            } => {
                match pauses.after_pause(begins_access_unit(buf)) {
                    Verdict::Fine => {}
                    Verdict::Trusted => tracing::debug!(
                        camera = sink.hub().id(),
                        "`{program}` pauses only between pictures: each picture goes out when it pauses"
                    ),
                    Verdict::Distrusted => tracing::debug!(
                        camera = sink.hub().id(),
                        "`{program}` pauses inside pictures: each picture goes out when the next begins"
                    ),
                    Verdict::CutAPicture => tracing::warn!(
                        camera = sink.hub().id(),
                        "`{program}` paused inside a picture after a second of pausing only between them: that picture went out cut; from now on each picture goes out when the next begins (one frame interval later)"
                    ),
                }
                reader.push(buf);
                buf.clear();
                frames = publish_units(reader, clock, sink);
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

    /// How long to wait for more bytes before taking the quiet for a pause of the writer
    /// ([`pause`]), or `None`: nothing to gain from one now.
    pub(super) fn pause_wait(&self) -> Option<Duration> {
        match self {
            Self::H264 { reader, pauses, .. } if pauses.watching() && reader.holds_slice() => {
                Some(pause::PAUSE)
            }
            _ => None,
        }
    }

    /// The writer paused (after [`pause_wait`](Self::pause_wait)): publishes the picture held
    /// if pauses are trusted; returns how many frames went out.
    pub(super) fn paused(&mut self, sink: &FrameSink) -> u64 {
        let Self::H264 {
            reader,
            clock,
            units,
            pauses,
            ..
        } = self
        else {
            return 0;
        };
        if pauses.paused() == OnPause::Wait {
            return 0;
        }
        if let Err(e) = reader.end_at_pause() {
            sink.drop_frame(e.message());
        }
        let frames = publish_units(reader, clock, sink);
        *units += frames;
        frames
    }
}

/// Publishes the access units `reader` has complete; returns how many.
fn publish_units(reader: &mut AnnexBReader, clock: &mut ArrivalClock, sink: &FrameSink) -> u64 {
    let mut frames = 0;
    while let Some(unit) = reader.next_access_unit() {
        match unit {
            Ok(au) => {
                frames += 1;
                let fps = au
                    .params
                    .as_ref()
                    .and_then(|p| p.sps.timing)
                    .and_then(|t| t.frame_rate());
                let pts_90k = clock.pts_90k(fps);
                sink.publish_h264(au, SystemTime::now(), pts_90k);
            }
            Err(e) => sink.drop_frame(e.message()),
        }
    }
    frames
}

/// A pipe carries no timestamps: a unit's time is when it arrived, on the monotonic clock.
/// Units that arrive bunched (a busy machine, the program flushing) are spread to at least half
/// the frame interval the SPS states, so players do not see two pictures at one instant; the
/// times return to the arrival times within a few frames.
#[derive(Debug)]
pub(super) struct ArrivalClock {
    started: Instant,
    last_90k: Option<u64>,
}

impl ArrivalClock {
    pub(super) fn new() -> Self {
        Self {
            started: Instant::now(),
            last_90k: None,
        }
    }

    /// The time of a unit arriving now, given the stream's frame rate if known.
    pub(super) fn pts_90k(&mut self, fps: Option<f64>) -> u64 {
        // 90 kHz ticks since start: u64 lasts 6.5 million years.
        let arrival = (self.started.elapsed().as_micros() * 9 / 100) as u64;
        self.next(arrival, fps)
    }

    fn next(&mut self, arrival_90k: u64, fps: Option<f64>) -> u64 {
        // 1..=240 fps: 187..=45000 ticks.
        let min_gap = fps
            .filter(|f| (1.0..=240.0).contains(f))
            .map_or(90, |f| (45_000.0 / f) as u64);
        let pts = match self.last_90k {
            Some(last) => arrival_90k.max(last + min_gap),
            None => arrival_90k,
        };
        self.last_90k = Some(pts);
        pts
    }
}

#[cfg(test)]
mod tests {
    use super::ArrivalClock;

    #[test]
    fn bunched_units_are_spread_and_times_return_to_arrival() {
        let mut c = ArrivalClock::new();
        // 30 fps: 3000 ticks a frame; four arrive at once, then on time.
        let got: Vec<u64> = [0, 10, 20, 30, 12_000, 15_000]
            .iter()
            .map(|&t| c.next(t, Some(30.0)))
            .collect();
        assert_eq!(got, [0, 1500, 3000, 4500, 12_000, 15_000]);
        assert_eq!(
            c.next(15_010, None),
            15_090,
            "1 ms apart without a frame rate"
        );
    }
}
