//! A frame: one picture of a camera as a shared JPEG, plus its variants made on demand and
//! the framing outputs wrap around them, each made once and shared.

use crate::variant::MAX_VARIANTS;
use crate::variant_encoder::VariantEncoder;
use crate::{Error, ErrorKind, RgbImage, Variant, VariantRequest, jpeg, scale};
use bytes::Bytes;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime};
use tokio::sync::OnceCell;

/// Different variants one frame may be asked for. The hub's variant slots
/// ([`MAX_VARIANTS`]) keep requests below this; it is a second line of defence.
pub const MAX_VARIANTS_PER_FRAME: usize = 2 * MAX_VARIANTS;

/// Framings kept per frame (one per output format and resolved variant); past it they are
/// still made, just not kept. The hub's variant slots keep variants below this.
const MAX_PACKAGES_PER_FRAME: usize = 4 * MAX_VARIANTS;

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

/// Bytes an output wraps around one of the frame's JPEGs, keyed by the output's format and the
/// JPEG (`None`: the original, as [`Frame::resolve`] says).
#[derive(Debug)]
struct Package {
    format: &'static str,
    variant: Option<Variant>,
    bytes: Bytes,
}

impl Package {
    fn is(&self, format: &'static str, variant: Option<Variant>) -> bool {
        self.format == format && self.variant == variant
    }
}

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
    /// The JPEG's quality estimated from its tables, once a variant needs it.
    source_quality: OnceLock<Option<u8>>,
    /// The first framing made, read without a lock: with one output and one size watched
    /// (the usual case) every viewer finds its part here. Viewers on both runtime threads took
    /// the lock of `packages` for each frame, a cache line they passed back and forth.
    first_package: OnceLock<Package>,
    /// The framings made after the first.
    packages: Mutex<Vec<Package>>,
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
            source_quality: OnceLock::new(),
            first_package: OnceLock::new(),
            packages: Mutex::new(Vec::new()),
        }
    }

    /// The same picture without its pixels and without the variants and framings made of it:
    /// what a stopped camera keeps. Its JPEG still serves snapshots and the API, and a variant
    /// of it is decoded from the JPEG, as for a camera that sends JPEG only. A 1280x720
    /// frame's pixels are 2.7 MB (issue 17: most of what a crowd left behind).
    pub fn without_pixels(&self) -> Self {
        Self {
            seq: self.seq,
            captured_at: self.captured_at,
            published: self.published,
            width: self.width,
            height: self.height,
            jpeg: self.jpeg.clone(),
            raw: None,
            kind: self.kind,
            variants: Mutex::new(Vec::new()),
            source_quality: OnceLock::new(),
            first_package: OnceLock::new(),
            packages: Mutex::new(Vec::new()),
        }
    }

    /// Whether it holds more than its JPEG: pixels, variants or framings.
    pub fn holds_more_than_jpeg(&self) -> bool {
        self.raw.is_some()
            || self.first_package.get().is_some()
            || !self
                .variants
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
            || !self
                .packages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
    }

    /// The JPEG for `req`: the original, or a variant encoded once for this frame on a
    /// blocking thread and shared by every viewer that asks for the same one. An encode
    /// waits for one of the camera's encoder slots and then for its share of the server's
    /// variant memory budget, so a burst of big variants queues instead of allocating
    /// without bound. `encoder` is the camera's ([`crate::CameraHub::variant_encoder`]).
    pub async fn jpeg_for(
        self: &Arc<Self>,
        req: &VariantRequest,
        encoder: &VariantEncoder,
    ) -> Result<Bytes, Error> {
        let Some(variant) = self.resolve(req, encoder.default_quality()) else {
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
            let stats = encoder.stats().clone();
            let peak = encode_peak_bytes(self.width, self.height, variant, self.raw.is_none());
            async move {
                let slot = encoder.slot().await;
                let share = encoder.budget().reserve(peak).await;
                // The slot and the share move to the encoding thread: they are held until
                // the encode ends, even if every viewer waiting for it has left.
                tokio::task::spawn_blocking(move || {
                    let _held = (slot, share);
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

    /// The variant [`Frame::jpeg_for`] makes for `req`, or `None` when it serves the original:
    /// the request resolved at `default_quality`, its quality capped at the source's.
    fn resolve(&self, req: &VariantRequest, default_quality: u8) -> Option<Variant> {
        let mut variant = req.resolve(self.width, self.height, default_quality)?;
        if let Some(source_quality) = self.source_quality()
            && variant.quality > source_quality
        {
            // Above the source's quality a variant only costs more bytes: what the source's
            // quantisation dropped does not come back.
            variant.quality = source_quality;
            if (variant.width, variant.height) == (self.width, self.height) && !variant.invert {
                return None;
            }
        }
        Some(variant)
    }

    /// Bytes an output wraps around this frame's JPEG for `req` (a multipart part's header
    /// lines), made by `make` once and shared by every viewer of that output whose request
    /// gets the same JPEG from [`Frame::jpeg_for`] (however it was spelled), like the JPEG.
    /// `encoder` is the one given to `jpeg_for`, for its default quality.
    pub fn packaged(
        &self,
        format: &'static str,
        req: &VariantRequest,
        encoder: &VariantEncoder,
        make: impl FnOnce() -> Bytes,
    ) -> Bytes {
        let variant = self.resolve(req, encoder.default_quality());
        if let Some(bytes) = self.first_package_for(format, variant) {
            return bytes;
        }
        let mut list = self.packages.lock().unwrap_or_else(|e| e.into_inner());
        // Looked at again under the lock: another viewer may have made it meanwhile.
        if let Some(bytes) = self.first_package_for(format, variant) {
            return bytes;
        }
        if let Some(p) = list.iter().find(|p| p.is(format, variant)) {
            return p.bytes.clone();
        }
        let bytes = make();
        let package = Package {
            format,
            variant,
            bytes: bytes.clone(),
        };
        // Framings are only made under the lock, so `first_package` is set at most once here.
        if let Err(package) = self.first_package.set(package)
            && list.len() < MAX_PACKAGES_PER_FRAME
        {
            list.push(package);
        }
        bytes
    }

    /// What [`Frame::packaged`] gives for these arguments if it has made it already, without
    /// waiting for the JPEG or making anything. Without a lock in the usual case.
    pub fn package(
        &self,
        format: &'static str,
        req: &VariantRequest,
        encoder: &VariantEncoder,
    ) -> Option<Bytes> {
        let variant = self.resolve(req, encoder.default_quality());
        if let Some(bytes) = self.first_package_for(format, variant) {
            return Some(bytes);
        }
        let list = self.packages.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = list.iter().find(|p| p.is(format, variant))?.bytes.clone();
        Some(bytes)
    }

    fn first_package_for(&self, format: &'static str, variant: Option<Variant>) -> Option<Bytes> {
        let first = self.first_package.get()?;
        first.is(format, variant).then(|| first.bytes.clone())
    }

    /// The quality of the JPEG variants are decoded from, `None` when they are made from the
    /// source's pixels (`raw`: no JPEG loss to cap at) or the JPEG's tables are unreadable.
    fn source_quality(&self) -> Option<u8> {
        if self.raw.is_some() {
            return None;
        }
        *self
            .source_quality
            .get_or_init(|| jpeg::estimate_quality(&self.jpeg))
    }

    fn encode_variant(&self, v: Variant) -> Result<Bytes, Error> {
        let decoded;
        let src = match &self.raw {
            Some(raw) => raw.as_ref(),
            None => {
                // Averaged down to 1/2, 1/4 or 1/8 when the variant is that small: the
                // resize then has a quarter (or less) of the pixels to filter.
                decoded = jpeg::decode_rgb_at_least(&self.jpeg, v.width, v.height)?;
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

/// The most memory encoding variant `v` of a `src_w`x`src_h` frame holds at once, in bytes:
/// the decoded frame when the source kept no pixels, the resize's intermediate image
/// (`v.width` x `src_h`), the resized image, and half as much again for the encoder's work
/// and output. Measured: a 4000x3000 variant of a 4096x3072 JPEG raised the server's peak
/// memory by 109 MB; this says 129 MB.
pub fn encode_peak_bytes(src_w: u32, src_h: u32, v: Variant, decode: bool) -> u64 {
    let rgb = |w: u32, h: u32| u64::from(w) * u64::from(h) * 3;
    let mut bytes = rgb(v.width, src_h) + rgb(v.width, v.height) * 3 / 2;
    if decode {
        bytes += rgb(src_w, src_h);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::VariantBudget;
    use crate::stats::CameraStats;

    /// A 320x240 frame whose only form is a JPEG at `quality` (as from an MJPEG camera).
    fn jpeg_frame(quality: u8) -> Arc<Frame> {
        let mut img = RgbImage::new(320, 240);
        for (i, p) in img.data.iter_mut().enumerate() {
            // Detail at every scale, so the quality shows in the size.
            *p = ((i * 7919) % 251) as u8 / 2 + ((i / 960) % 128) as u8;
        }
        Arc::new(Frame::new(
            1,
            FrameParts {
                jpeg: Bytes::from(jpeg::encode_rgb(&img, quality).expect("encode")),
                width: 320,
                height: 240,
                captured_at: SystemTime::now(),
                raw: None,
                kind: FrameKind::Live,
            },
        ))
    }

    fn encoder(default_quality: u8) -> VariantEncoder {
        VariantEncoder::new(
            default_quality,
            Arc::new(VariantBudget::new(64 << 20)),
            Arc::new(CameraStats::default()),
        )
    }

    fn req(width: Option<u32>, quality: Option<u8>) -> VariantRequest {
        VariantRequest {
            width,
            quality,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn variants_are_never_encoded_above_the_sources_quality() {
        let frame = jpeg_frame(50);
        let enc = encoder(80);
        // Asked above the source (explicitly, or by the default of 80): encoded at 50.
        for asked in [Some(90), None] {
            let v = frame.jpeg_for(&req(Some(160), asked), &enc).await.unwrap();
            assert_eq!(jpeg::estimate_quality(&v), Some(50), "asked {asked:?}");
        }
        // At or below the source's quality: as asked.
        let v = frame
            .jpeg_for(&req(Some(160), Some(30)), &enc)
            .await
            .unwrap();
        assert_eq!(jpeg::estimate_quality(&v), Some(30));
        // Only a higher quality at full size: the original is that already.
        let v = frame.jpeg_for(&req(None, Some(95)), &enc).await.unwrap();
        assert_eq!(v, frame.jpeg);
        // The same variant at 90 and at 80 is one encode (both are 50).
        let a = frame
            .jpeg_for(&req(Some(160), Some(90)), &enc)
            .await
            .unwrap();
        let b = frame
            .jpeg_for(&req(Some(160), Some(80)), &enc)
            .await
            .unwrap();
        assert_eq!(a.as_ptr(), b.as_ptr());
    }

    #[tokio::test]
    async fn a_variant_of_a_high_quality_source_keeps_the_asked_quality() {
        let frame = jpeg_frame(95);
        let v = frame
            .jpeg_for(&req(Some(160), None), &encoder(80))
            .await
            .unwrap();
        assert_eq!(jpeg::estimate_quality(&v), Some(80));
    }

    #[tokio::test]
    async fn requests_that_resolve_to_one_variant_share_one_package() {
        let frame = jpeg_frame(90);
        let enc = encoder(80);
        let package = |r: &VariantRequest| {
            frame.packaged("test part", r, &enc, || Bytes::from(format!("{r:?}")))
        };
        // 160 wide of 320x240 is 160x120 at the default quality, however it is spelled.
        let by_width = req(Some(160), None);
        let with_default_quality = req(Some(160), Some(80));
        let by_height = VariantRequest {
            height: Some(120),
            ..Default::default()
        };
        let a = package(&by_width);
        assert_eq!(a.as_ptr(), package(&with_default_quality).as_ptr());
        assert_eq!(a.as_ptr(), package(&by_height).as_ptr());
        // The same JPEG: one encode.
        let j = frame.jpeg_for(&by_width, &enc).await.unwrap();
        let k = frame.jpeg_for(&by_height, &enc).await.unwrap();
        assert_eq!(j.as_ptr(), k.as_ptr());
        // The original, asked for in ways that all resolve to it, is one package too, and
        // another variant or another output gets its own.
        let original = package(&VariantRequest::default());
        assert_eq!(original.as_ptr(), package(&req(Some(320), None)).as_ptr());
        assert_eq!(original.as_ptr(), package(&req(None, Some(95))).as_ptr());
        assert_ne!(a.as_ptr(), original.as_ptr());
        assert_ne!(a.as_ptr(), package(&req(Some(80), None)).as_ptr());
        let other = frame.packaged("other part", &by_width, &enc, || Bytes::from("other"));
        assert_eq!(other, "other");
    }

    #[tokio::test]
    async fn a_package_is_found_once_made_however_many_there_are() {
        let frame = jpeg_frame(90);
        let enc = encoder(80);
        let original = VariantRequest::default();
        let small = req(Some(160), None);
        assert_eq!(frame.package("part", &original, &enc), None);
        // The first made (kept without a lock) and later ones (kept in the list) alike.
        let made = [
            frame.packaged("part", &original, &enc, || Bytes::from("original part")),
            frame.packaged("part", &small, &enc, || Bytes::from("small part")),
            frame.packaged("other", &original, &enc, || Bytes::from("other part")),
        ];
        let found = [
            frame.package("part", &original, &enc),
            frame.package("part", &req(Some(320), None), &enc),
            frame.package("part", &small, &enc),
            frame.package("other", &original, &enc),
        ];
        let found: Vec<_> = found.into_iter().map(|b| b.map(|b| b.as_ptr())).collect();
        let made: Vec<_> = made.iter().map(|b| Some(b.as_ptr())).collect();
        assert_eq!(found, [made[0], made[0], made[1], made[2]]);
        assert_eq!(frame.package("other", &small, &enc), None);
        // Asked again, each is the one made first, not made anew.
        let again = frame.packaged("part", &small, &enc, || Bytes::from("made twice"));
        assert_eq!(again, "small part");
        assert!(frame.holds_more_than_jpeg());
        // One package (the one kept without a lock) is more than the JPEG too.
        let one = jpeg_frame(90);
        assert!(!one.holds_more_than_jpeg());
        one.packaged("part", &original, &enc, || Bytes::from("x"));
        assert!(one.holds_more_than_jpeg());
    }

    #[test]
    fn the_peak_estimate_counts_the_decode_the_resize_and_the_encoder() {
        let v = Variant {
            width: 4000,
            height: 3000,
            quality: 80,
            invert: false,
        };
        assert_eq!(encode_peak_bytes(4096, 3072, v, true), 128_612_736);
        assert_eq!(
            encode_peak_bytes(4096, 3072, v, false),
            128_612_736 - 37_748_736
        );
    }
}
