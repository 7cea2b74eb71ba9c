//! The H.264 SPS parser (`lookout_core::h264::Sps::parse`) and what is built on it: the codec
//! parameters (`CodecParams`: the RFC 6381 codec string, the avcC record), the fMP4 init
//! segment, and the PPS and slice-header readers that take the same bytes. An SPS comes from
//! a camera (RTSP, a pipe, V4L2) and ends up in every viewer's init segment.
//!
//! Checks: no panic; a parsed size is within 1..=MAX_SIDE_PX; only an SPS of another id than
//! the PPS's is refused as codec parameters; the codec string is `avc1.` and the three bytes
//! of the avcC record; the init segment starts with `ftyp`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_core::fmp4::init_segment;
use lookout_core::h264::sps::{MAX_SIDE_PX, first_mb_in_slice, pps_ids};
use lookout_core::h264::{CodecParams, Sps};

/// x264's PPS (pic_parameter_set_id 0, seq_parameter_set_id 0).
const PPS: &[u8] = &[0x68, 0xCB, 0x83, 0xCB, 0x20];

fuzz_target!(|data: &[u8]| {
    let _ = pps_ids(data);
    let _ = first_mb_in_slice(data);
    let Ok(sps) = Sps::parse(data) else {
        return;
    };
    assert!(
        (1..=MAX_SIDE_PX).contains(&sps.width),
        "width {}",
        sps.width
    );
    assert!(
        (1..=MAX_SIDE_PX).contains(&sps.height),
        "height {}",
        sps.height
    );
    let _ = sps.timing.and_then(|t| t.frame_rate());
    let Ok(params) = CodecParams::new(data, &[PPS]) else {
        // Only an SPS of another id than the PPS's (or too long for avcC) is refused.
        assert!(sps.sps_id != 0 || data.len() > usize::from(u16::MAX));
        return;
    };
    let codec = params.codec_string();
    let avcc = params.avcc();
    let hex = format!("avc1.{:02X}{:02X}{:02X}", avcc[1], avcc[2], avcc[3]);
    assert_eq!(codec.to_ascii_uppercase(), hex.to_ascii_uppercase());
    assert_eq!(avcc[0], 1);
    let init = init_segment(&params);
    assert_eq!(&init[4..8], b"ftyp");
});
