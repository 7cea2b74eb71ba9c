//! Motion detection on camera frames: the computation only (no threads, no I/O, no clock of its
//! own), so it can be tested on synthetic sequences and run on a blocking thread per camera.
//!
//! # Algorithm
//!
//! Each frame is first **reduced** to a small grayscale picture: by the largest power of two
//! that keeps its longer side at least [`MotionConfig::reduce_to`] (160) pixels, so 1280x720
//! becomes 160x90 and 1920x1080 240x135. For a baseline JPEG reduced by 8 or more this costs
//! no IDCT at all: the mean of each 8x8 luma block is its DC coefficient, so only the entropy
//! decoding is done (`jpeg_dc`). Other JPEGs are decoded to luma and box-averaged; RGB pixels
//! are converted to luma (BT.601) and box-averaged. Averaging 64 pixels also divides sensor
//! noise by about 8 before anything is compared.
//!
//! On that picture, per frame:
//!
//! 1. **Background**: an exponential moving average of past frames, per pixel, in fixed point
//!    (levels x 256). It follows the picture with weight `background_alpha` (0.05) a frame, and
//!    a quarter of that where a pixel changed, so a moving object does not smear into it but
//!    one that stops fades in: after 4 x ln(contrast / threshold) / alpha frames, 80 to 200
//!    at the default alpha.
//! 2. **Difference**: `|frame - background|` per pixel.
//! 3. **Noise level**: the median difference over the watched pixels (from a histogram in
//!    1/16 levels), averaged over the first 16 frames, then followed with a time constant of
//!    20 frames. The median ignores motion covering up to half the picture. A pixel has
//!    **changed** when its difference exceeds `max(min_pixel_threshold, noise_multiplier x
//!    noise)` levels: 12 levels, or about 3.4 standard deviations of Gaussian noise.
//! 4. **Despeckle**: a changed pixel counts only if at least `despeckle_neighbours` (2) of its
//!    8 neighbours changed too, which removes isolated pixels and pairs (noise, JPEG ringing)
//!    and keeps any blob of 2x2 or more.
//! 5. **Score**: counted pixels / watched pixels. **Mask zones** decide which pixels are
//!    watched: polygons in 0..1 coordinates, include or exclude, rasterized once per picture
//!    size (even-odd rule on pixel centres); with no include zone the whole picture is.
//! 6. **Light switch**: if more than `light_switch_fraction` (60 %) of the watched pixels
//!    changed, or their mean brightness moved by more than `light_switch_levels` (30) from the
//!    background's, the whole picture changed (lights, auto-exposure, the camera moved): that
//!    frame scores 0, the background restarts from it, and learning begins. (While learning,
//!    only the brightness rule applies: until the noise level is known a noisy picture would
//!    look all changed.)
//! 7. **Learning**: for `learning_frames` (10) frames after the first one, a size change or a
//!    light switch, the background follows at weight 1/2 and no motion is reported, so it
//!    settles (auto-exposure takes a few frames after the lights change).
//! 8. **Events**: a frame has motion when its score is at least `threshold_fraction` (0.5 %).
//!    `min_frames` (3) consecutive motion frames start an event, dated from the first of them;
//!    it ends once no frame had motion for `cooldown` (5 s), with its peak score. Each update
//!    says whether its frame is the event's best so far, whose picture to keep as its snapshot.
//!
//! Settings are per analysed frame: feeding every frame of a 30 fps camera makes the background
//! and noise follow 3x faster than at 10 fps. The cost is in docs/performance.md: about 1 ms a
//! 720p JPEG for the reduction and 0.05 ms for the rest.
//!
//! # Use
//!
//! ```
//! use lookout_core::motion::{MotionConfig, MotionDetector, EventEdge};
//! use std::time::Instant;
//! # fn frames() -> Vec<Vec<u8>> { Vec::new() }
//! let mut detector = MotionDetector::new(MotionConfig::default())?;
//! for jpeg in frames() {
//!     match detector.feed_jpeg(&jpeg, Instant::now()) {
//!         Ok(update) => match update.event {
//!             Some(EventEdge::Start { .. }) => { /* store the event */ }
//!             Some(EventEdge::End { peak_score, .. }) => { /* close it */ }
//!             None => {}
//!         },
//!         Err(e) => { /* a damaged frame: count it, log it rate-limited */ }
//!     }
//! }
//! # Ok::<(), lookout_core::Error>(())
//! ```

mod detector;
mod events;
mod gray;
mod gray_image;
mod jpeg_dc;
mod zones;

pub use detector::{FrameVerdict, MotionConfig, MotionDetector, MotionUpdate};
pub use events::EventEdge;
pub use gray::{box_reduce, decode_luma, reduce_jpeg, reduce_rgb, reduction_factor};
pub use gray_image::GrayImage;
pub use zones::{MaskZone, ZoneKind, rasterize};

/// Only the 8x8 block means of a baseline JPEG (1/8 scale, no IDCT), as [`reduce_jpeg`] uses
/// them; for the bench, which times them against a full luma decode. A JPEG they cannot be read
/// from (progressive, arithmetic-coded, 12-bit, RGB or CMYK) is an `InvalidInput` error saying
/// why; [`reduce_jpeg`] decodes those fully.
pub fn jpeg_block_means(jpeg: &[u8]) -> Result<GrayImage, crate::Error> {
    match jpeg_dc::decode(jpeg)? {
        jpeg_dc::DcLuma::Decoded { image, .. } => Ok(image),
        jpeg_dc::DcLuma::Unsupported(why) => Err(crate::Error::invalid(format!(
            "block means cannot be read from this JPEG: {why}"
        ))),
    }
}
