//! A frame: one picture of a camera as a shared JPEG, plus its variants made on demand.

use crate::hub::CameraStats;
use crate::{Error, ErrorKind, RgbImage, Variant, VariantRequest, jpeg, scale};
use bytes::Bytes;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use tokio::sync::OnceCell;

/// Different variants one frame may be asked for. The hub's variant slots
/// ([`crate::hub::MAX_VARIANTS`]) keep requests below this; it is a second line of defence.
pub const MAX_VARIANTS_PER_FRAME: usize = 2 * crate::hub::MAX_VARIANTS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A picture from the camera.
    Live,
    /// A "no signal" card published while the source is down, so viewers keep seeing
    /// something (at least once a second) and know why.
    NoSignal,
    /// The last live picture again, published while a running source is quiet (a ROS topic
    /// published slowly or paused), as web_video_server's `publish_rate` repeats it.
    Stale,
}

/// What a source hands to the hub.
#[derive(Debug, Clone)]
pub struct FrameParts {
    pub jpeg: Bytes,
    pub width: u32,
    pub height: u32,
    pub captured_at: SystemTime,
    /// The pixels the JPEG was made from, when the source had them: variants then skip a decode.
    pub raw: Option<Arc<RgbImage>>,
    pub kind: FrameKind,
}

type VariantCell = Arc<OnceCell<Result<Bytes, Error>>>;

/// A published frame. Viewers share it through `Arc`, and its JPEG through `Bytes`: nothing
/// of it is copied per viewer.
#[derive(Debug)]
pub struct Frame {
    pub seq: u64,
    pub captured_at: SystemTime,
    /// When the hub received it, for latency and freshness on the monotonic clock.
    pub published: Instant,
    pub width: u32,
    pub height: u32,
    pub jpeg: Bytes,
    pub raw: Option<Arc<RgbImage>>,
    pub kind: FrameKind,
    variants: Mutex<Vec<(Variant, VariantCell)>>,
}

impl Frame {
    pub fn new(seq: u64, parts: FrameParts) -> Self {
        Self {
            seq,
            captured_at: parts.captured_at,
            published: Instant::now(),
            width: parts.width,
            height: parts.height,
            jpeg: parts.jpeg,
            raw: parts.raw,
            kind: parts.kind,
            variants: Mutex::new(Vec::new()),
        }
    }

    /// The JPEG for `req`: the original, or a variant encoded once for this frame on a
    /// blocking thread and shared by every viewer that asks for the same one.
    pub async fn jpeg_for(
        self: &Arc<Self>,
        req: &VariantRequest,
        default_quality: u8,
        stats: &Arc<CameraStats>,
    ) -> Result<Bytes, Error> {
        let Some(variant) = req.resolve(self.width, self.height, default_quality) else {
            return Ok(self.jpeg.clone());
        };
        let cell = {
            let mut list = self.variants.lock().unwrap_or_else(|e| e.into_inner());
            match list.iter().find(|(v, _)| *v == variant) {
                Some((_, cell)) => cell.clone(),
                None if list.len() >= MAX_VARIANTS_PER_FRAME => {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "this camera is already serving {MAX_VARIANTS_PER_FRAME} different sizes; ask for one of those"
                        ),
                    ));
                }
                None => {
                    let cell = VariantCell::default();
                    list.push((variant, cell.clone()));
                    cell
                }
            }
        };
        cell.get_or_init(|| {
            let frame = self.clone();
            let stats = stats.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let started = Instant::now();
                    let out = frame.encode_variant(variant);
                    stats.record_encode(started.elapsed());
                    out
                })
                .await
                .unwrap_or_else(|e| Err(Error::internal(format!("variant encoder stopped: {e}"))))
            }
        })
        .await
        .clone()
    }

    fn encode_variant(&self, v: Variant) -> Result<Bytes, Error> {
        let decoded;
        let src = match &self.raw {
            Some(raw) => raw.as_ref(),
            None => {
                decoded = jpeg::decode_rgb(&self.jpeg)?;
                &decoded
            }
        };
        let mut scaled = None;
        if (src.width, src.height) != (v.width, v.height) {
            scaled = Some(scale::resize(src, v.width, v.height));
        }
        if v.invert {
            let mut turned = scaled.unwrap_or_else(|| src.clone());
            turned.rotate_180();
            scaled = Some(turned);
        }
        jpeg::encode_rgb(scaled.as_ref().unwrap_or(src), v.quality).map(Bytes::from)
    }
}
