//! What a WebRTC peer may get: the camera's H.264 must be decodable by browsers' WebRTC, and
//! the payload type is chosen among the ones both sides support with packetization mode 1
//! (mode 0 cannot carry a NAL unit larger than a packet: RFC 6184 6.2).

use lookout_core::h264::CodecParams;
use str0m::format::PayloadParams;
use str0m::media::{Mid, Pt};

/// The H.264 payload types Lookout offers to send (str0m's defaults with packetization mode 1):
/// Constrained Baseline, Baseline, Main and High, level 3.1; levels are not enforced as
/// browsers offer `level-asymmetry-allowed=1`.
pub const PAYLOADS: [(u8, u8, u32); 4] = [
    (108, 109, 0x42e01f),
    (127, 121, 0x42001f),
    (123, 119, 0x4d001f),
    (114, 115, 0x64001f),
];

/// Why a camera's stream cannot go to WebRTC, or `None` if it can. Browsers decode 8-bit
/// 4:2:0 progressive Baseline, Main and High; str0m's packetizer keeps one PPS, so a stream
/// with several is refused rather than sent broken (no camera seen here sends more than one).
pub fn undecodable(p: &CodecParams) -> Option<String> {
    let s = &p.sps;
    let what = if !matches!(s.profile_idc, 66 | 77 | 100) {
        format!("H.264 profile {}", s.profile_idc)
    } else if s.chroma_format_idc != 1 {
        format!("chroma format {} (not 4:2:0)", s.chroma_format_idc)
    } else if s.bit_depth_luma != 8 || s.bit_depth_chroma != 8 {
        format!("{}-bit H.264", s.bit_depth_luma)
    } else if !s.frame_mbs_only {
        "interlaced H.264".to_owned()
    } else if p.pps_nals.len() != 1 {
        format!("{} picture parameter sets", p.pps_nals.len())
    } else {
        return None;
    };
    Some(format!(
        "the camera sends {what}, which browsers' WebRTC does not play; the page plays stream.mp4 instead"
    ))
}

/// The payload type to send with: the negotiated H.264 with packetization mode 1 whose
/// profile matches the camera's (`params`, when known), else the first such one. Browsers'
/// decoders play Main and High under a Baseline payload type.
pub fn choose_pt<'a>(
    negotiated: impl Iterator<Item = &'a PayloadParams>,
    params: Option<&CodecParams>,
) -> Option<Pt> {
    let candidates: Vec<(Pt, u32)> = negotiated
        .filter(|p| p.spec().codec == str0m::format::Codec::H264)
        .filter(|p| p.spec().format.packetization_mode == Some(1))
        .map(|p| (p.pt(), p.spec().format.profile_level_id.unwrap_or(0x42e01f)))
        .collect();
    let wanted = params.map_or(0x42e0, |p| {
        (u32::from(p.profile_idc()) << 8) | u32::from(p.compat() & 0x40)
    });
    let profile = |pli: u32| pli >> 16;
    let constrained = |pli: u32| (pli >> 8) & 0x40;
    candidates
        .iter()
        .find(|(_, pli)| profile(*pli) == wanted >> 8 && constrained(*pli) == wanted & 0x40)
        .or_else(|| {
            candidates
                .iter()
                .find(|(_, pli)| profile(*pli) == wanted >> 8)
        })
        .or_else(|| candidates.first())
        .map(|(pt, _)| *pt)
}

/// The mid of the first video m-line the answer sends on (`a=sendonly` or `a=sendrecv`).
/// Read from the answer's text: str0m reports new media only once the peer connects.
pub fn video_mid(answer_sdp: &str) -> Option<Mid> {
    let mut found = None;
    let mut in_video = false;
    let (mut mid, mut sending) = (None, false);
    for line in answer_sdp.lines().map(str::trim_end).chain(["m=end"]) {
        if line.starts_with("m=") {
            if in_video && sending && found.is_none() {
                found = mid.take();
            }
            in_video = line.starts_with("m=video ");
            (mid, sending) = (None, false);
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(Mid::from(m));
        } else if line == "a=sendonly" || line == "a=sendrecv" {
            sending = true;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use str0m::change::SdpOffer;
    use str0m::media::{Direction, MediaKind};
    use str0m::{Candidate, Rtc, RtcConfig};

    /// A receiver's offer with H.264 in all four profiles: the answer sends on its video mid,
    /// and the payload type follows the camera's profile.
    #[test]
    fn an_offer_gets_a_video_mid_and_the_cameras_profile() {
        let crypto = std::sync::Arc::new(str0m::crypto::from_feature_flags());
        let mut client = Rtc::builder()
            .set_crypto_provider(crypto.clone())
            .build(Instant::now());
        client.add_local_candidate(
            Candidate::host("127.0.0.1:5000".parse().unwrap(), "udp").unwrap(),
        );
        let mut api = client.sdp_api();
        // Audio first: the video is not the first m-line.
        api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        let want = api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, _pending) = api.apply().unwrap();
        let offer = SdpOffer::from_sdp_string(&offer.to_sdp_string()).unwrap();
        let mut cfg = RtcConfig::new()
            .set_ice_lite(true)
            .set_crypto_provider(crypto)
            .clear_codecs();
        for (pt, rtx, pli) in PAYLOADS {
            cfg.codec_config()
                .add_h264(pt.into(), Some(rtx.into()), true, pli);
        }
        let mut rtc = cfg.build(Instant::now());
        rtc.add_local_candidate(Candidate::host("127.0.0.1:6000".parse().unwrap(), "udp").unwrap());
        let answer = rtc.sdp_api().accept_offer(offer).unwrap().to_sdp_string();
        let mid = video_mid(&answer).expect("a video mid");
        assert_eq!(mid, want);
        let writer = rtc.writer(mid).expect("a writer for the video");
        // No SPS yet (an encoder not started): Constrained Baseline.
        assert_eq!(
            choose_pt(writer.payload_params(), None),
            Some(Pt::from(108))
        );
        let high = CodecParams::new(X264_HIGH_SPS, &[X264_HIGH_PPS]).unwrap();
        assert_eq!(high.profile_idc(), 100);
        assert_eq!(
            choose_pt(writer.payload_params(), Some(&high)),
            Some(Pt::from(114))
        );
        assert_eq!(undecodable(&high), None);
    }

    #[test]
    fn answers_without_a_sending_video_have_no_mid() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=inactive\r\n";
        assert_eq!(video_mid(sdp), None);
        let sdp = sdp.replace("a=inactive", "a=sendonly");
        assert_eq!(video_mid(&sdp), Some(Mid::from("1")));
    }

    /// x264 `-profile:v high`, 640x360 (SPS and PPS from `ffmpeg -c:v libx264 -f h264`).
    const X264_HIGH_SPS: &[u8] = &[
        0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03,
        0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2d, 0x96,
    ];
    const X264_HIGH_PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];
}
