//! The scaled JPEG decoder behind variants (`lookout_core::jpeg::decode::scaled`, with the
//! header parser and Huffman decoder it shares with the motion DC reader) at 1/2, 1/4 and
//! 1/8, and `decode_rgb_at_least`, which falls back to a full decode.
//!
//! Checks: no panic (arithmetic overflow included: fuzz builds keep debug assertions); a
//! picture holds width x height pixels; `decode_rgb_at_least` gives exactly the header's
//! size (as the scanner reads it) divided by the reduction for the size asked, rounded up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_core::jpeg::decode::scaled::{Scaled, decode};
use lookout_core::jpeg::{decode_rgb_at_least, inspect};
use lookout_core::scale::reduction_for;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, jpeg)) = data.split_first() else {
        return;
    };
    let factor = [2, 4, 8][usize::from(choice % 3)];
    if let Ok(Scaled::Decoded(img)) = decode(jpeg, factor) {
        // Its size is the first frame header's, which the scanner (`inspect`) may not agree
        // with when more follows the first scan; `decode_rgb_at_least` checks that below.
        assert!(img.width >= 1 && img.height >= 1);
        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
    }
    let (min_w, min_h) = (
        u32::from(choice >> 2) * 8 + 1,
        u32::from(choice >> 2) * 4 + 1,
    );
    if let Ok(img) = decode_rgb_at_least(jpeg, min_w, min_h) {
        let info = inspect(jpeg).expect("a decoded JPEG has a header the scanner reads");
        let want = match reduction_for(info.width, info.height, min_w, min_h) {
            Some(f) => (info.width.div_ceil(f), info.height.div_ceil(f)),
            None => (info.width, info.height),
        };
        assert_eq!((img.width, img.height), want);
        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
    }
});
