//! The per-camera H.264 → JPEG decoder for cameras that send H.264 only (a `command` with
//! `format = "h264"`, an H.264 RTSP camera): it runs while somebody wants JPEG (an MJPEG
//! viewer, a snapshot, an MQTT snapshot, motion detection), once per camera whatever their
//! number, and publishes the pictures as the camera's JPEG frames.
//!
//! It starts from the GOP the camera's H.264 track keeps (from its last key frame), so the
//! first picture is the current one, without waiting for the next key frame. Two decoders:
//! openh264 in-process (feature `openh264`), else an `ffmpeg` child process fed Annex B.

mod feed;
mod ffmpeg;
#[cfg(feature = "openh264")]
mod openh264;

pub use ffmpeg::args as ffmpeg_args;
use lookout_core::{CameraHub, Error};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Which decoder makes JPEG of H.264.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JpegDecoder {
    /// Cisco's openh264, in-process (feature `openh264`).
    OpenH264,
    /// An `ffmpeg` child process per camera (this program).
    Ffmpeg(PathBuf),
}

impl JpegDecoder {
    /// The name the API and `/metrics` show.
    pub fn name(&self) -> &'static str {
        match self {
            Self::OpenH264 => "openh264",
            Self::Ffmpeg(_) => "ffmpeg",
        }
    }
}

/// Whether this build decodes H.264 in-process (feature `openh264`).
pub const OPENH264: bool = cfg!(feature = "openh264");

/// What every 503 for a missing decoder says to do.
pub const NO_DECODER_FIX: &str = "build Lookout with --features openh264, or install ffmpeg (apt install ffmpeg) and restart Lookout";

/// The decoder to use: `choice` is `"auto"` (openh264 if built in, else ffmpeg if found),
/// `"openh264"`, `"ffmpeg"` or `"off"`; `ffmpeg` is the program (a name looked up on PATH,
/// or a path). `Ok(None)`: no decoder (off, or auto with neither). Errors: the named
/// decoder is not there, with the fix.
pub fn choose(choice: &str, ffmpeg: &str) -> Result<Option<JpegDecoder>, Error> {
    let found = || find_program(ffmpeg).map(JpegDecoder::Ffmpeg);
    match choice {
        "off" => Ok(None),
        "auto" if OPENH264 => Ok(Some(JpegDecoder::OpenH264)),
        "auto" => Ok(found()),
        "openh264" if OPENH264 => Ok(Some(JpegDecoder::OpenH264)),
        "openh264" => Err(Error::invalid(
            "h264_decoder = \"openh264\", but this Lookout was built without the openh264 feature: build it with --features openh264, or use \"auto\"",
        )),
        "ffmpeg" => found().map(Some).ok_or_else(|| {
            Error::invalid(format!(
                "h264_decoder = \"ffmpeg\", but {ffmpeg:?} is not an executable program on PATH: install ffmpeg or set ffmpeg = \"/path/to/ffmpeg\""
            ))
        }),
        other => Err(Error::invalid(format!(
            "h264_decoder = {other:?}: it must be \"auto\", \"openh264\", \"ffmpeg\" or \"off\""
        ))),
    }
}

/// `name` as an executable file: a path as it is, a bare name looked up on `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let p = PathBuf::from(name);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}

/// A camera's decoder settings.
#[derive(Debug, Clone)]
pub struct DecodeConfig {
    pub decoder: JpegDecoder,
    /// Decode all the time (motion detection watches this camera), not only on demand.
    pub always: bool,
    /// Keep decoding this long after the last JPEG consumer left (a page reload, the next
    /// snapshot of a poller).
    pub linger: Duration,
}

/// After a decoder failed, wait this long before starting it again.
const RESTART_DELAY: Duration = Duration::from_secs(2);
/// How often to look again whether a camera that may send H.264 (RTSP, before it
/// connected) does.
const CODEC_POLL: Duration = Duration::from_millis(500);

/// Decodes `hub`'s H.264 to JPEG while somebody wants JPEG (or always), until `cancel`.
/// Does nothing while the camera sends JPEG itself.
pub async fn decode_while_wanted(
    hub: Arc<CameraHub>,
    cfg: DecodeConfig,
    cancel: CancellationToken,
) {
    let camera = hub.id().to_owned();
    loop {
        if !cfg.always {
            tokio::select! {
                () = hub.wait_for_jpeg_demand() => {}
                () = cancel.cancelled() => return,
            }
        }
        if !hub.sends_h264_only() {
            tokio::select! {
                () = tokio::time::sleep(CODEC_POLL) => continue,
                () = cancel.cancelled() => return,
            }
        }
        let stop = CancellationToken::new();
        tracing::info!(
            camera,
            decoder = cfg.decoder.name(),
            "H.264 decoder started (somebody wants JPEG)"
        );
        let run = run(&hub, &cfg.decoder, &stop);
        let idle = async {
            if cfg.always {
                std::future::pending::<()>().await;
            }
            hub.wait_jpeg_idle_for(cfg.linger).await;
        };
        let failed = tokio::select! {
            r = run => Some(r),
            () = idle => None,
            () = cancel.cancelled() => None,
        };
        stop.cancel();
        if cancel.is_cancelled() {
            return;
        }
        match failed {
            None => tracing::info!(camera, "nobody wants JPEG: H.264 decoder stopped"),
            Some(r) => {
                let why = r
                    .err()
                    .map_or_else(|| "it ended".to_owned(), |e| e.to_string());
                tracing::warn!(camera, "H.264 decoder failed: {why}; starting it again");
                tokio::select! {
                    () = tokio::time::sleep(RESTART_DELAY) => {}
                    () = cancel.cancelled() => return,
                }
            }
        }
    }
}

/// Runs one decoder until it fails or `stop`.
async fn run(
    hub: &Arc<CameraHub>,
    decoder: &JpegDecoder,
    stop: &CancellationToken,
) -> Result<(), Error> {
    match decoder {
        #[cfg(feature = "openh264")]
        JpegDecoder::OpenH264 => openh264::run(hub, stop).await,
        #[cfg(not(feature = "openh264"))]
        JpegDecoder::OpenH264 => Err(Error::invalid(
            "this Lookout was built without the openh264 feature",
        )),
        JpegDecoder::Ffmpeg(program) => ffmpeg::run(hub, program, stop).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert_eq!(find_program("sh").is_some(), Path::new("/bin/sh").exists());
        assert_eq!(find_program("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(find_program("/nonexistent/ffmpeg"), None);
        assert_eq!(find_program("no-such-program-here"), None);
        assert_eq!(find_program(""), None);
    }

    #[test]
    fn choices_are_checked() {
        assert_eq!(choose("off", "sh").unwrap(), None);
        assert!(choose("ffmpeg", "/nonexistent/ffmpeg").is_err());
        assert!(choose("fast", "ffmpeg").is_err());
        let auto = choose("auto", "/nonexistent/ffmpeg").unwrap();
        assert_eq!(auto.is_some(), OPENH264);
        assert_eq!(choose("openh264", "ffmpeg").is_ok(), OPENH264);
    }
}
