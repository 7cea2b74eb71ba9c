//! The scaled JPEG decoder behind variants (`lookout_core::jpeg::decode::scaled`, with the
//! header parser and Huffman decoder it shares with the motion DC reader) at 1/2, 1/4 and
//! 1/8, and `decode_rgb_at_least`, which falls back to a full decode.
//!
//! Checks: no panic (arithmetic overflow included: fuzz builds keep debug assertions); a
//! picture has exactly ceil(width / factor) x ceil(height / factor) pixels of the header's
//! size, and `decode_rgb_at_least` at least what was asked for, or the full size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_core::jpeg::decode::scaled::{Scaled, decode};
use lookout_core::jpeg::{decode_rgb_at_least, inspect};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, jpeg)) = data.split_first() else {
        return;
    };
    let factor = [2, 4, 8][usize::from(choice % 3)];
    if let Ok(Scaled::Decoded(img)) = decode(jpeg, factor) {
        let info = inspect(jpeg).expect("a decoded JPEG has a header the scanner reads");
        assert_eq!(
            (img.width, img.height),
            (info.width.div_ceil(factor), info.height.div_ceil(factor))
        );
        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
    }
    let (min_w, min_h) = (u32::from(choice >> 2) * 8 + 1, u32::from(choice >> 2) * 4 + 1);
    if let Ok(img) = decode_rgb_at_least(jpeg, min_w, min_h) {
        let info = inspect(jpeg).expect("a decoded JPEG has a header the scanner reads");
        assert!(
            (img.width >= min_w && img.height >= min_h)
                || (img.width, img.height) == (info.width, info.height)
        );
        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
    }
});
