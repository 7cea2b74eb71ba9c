//! The JPEG readers behind variants and motion detection: the DC reader
//! (`lookout_core::motion::jpeg_block_means`, the 1/8-scale luma straight from the Huffman
//! data), the motion reduction that picks it or a full luma decode (`reduce_jpeg`,
//! `decode_luma`), and the RGB decode (`lookout_core::jpeg::decode_rgb`).
//!
//! Checks: no panic; every picture holds exactly its width x height pixels; the RGB decode
//! has the size the scanner read from the header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_core::jpeg::{decode_rgb, inspect};
use lookout_core::motion::{GrayImage, decode_luma, jpeg_block_means, reduce_jpeg};

/// What the motion detector reduces to by default (`MotionConfig::reduce_to`).
const REDUCE_TO: u32 = 160;

fn check(img: &GrayImage) {
    assert!(img.width() >= 1 && img.height() >= 1);
    assert_eq!(
        img.pixels().len(),
        img.width() as usize * img.height() as usize
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(means) = jpeg_block_means(data) {
        check(&means);
    }
    if let Ok(reduced) = reduce_jpeg(data, REDUCE_TO) {
        check(&reduced);
    }
    if let Ok(luma) = decode_luma(data) {
        check(&luma);
    }
    if let Ok(img) = decode_rgb(data) {
        let info = inspect(data).expect("decode_rgb reads the header with inspect");
        assert_eq!((img.width, img.height), (info.width, info.height));
        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
    }
});
