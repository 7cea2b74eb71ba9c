//! The initialization segment of a fragmented MP4 with one H.264 video track (ISO/IEC
//! 14496-12 8.8, 14496-15 5.4): `ftyp`, then a `moov` whose sample tables are empty and whose
//! `mvex` says the samples come in movie fragments. MSE's first append, the first bytes of
//! `stream.mp4`, and the `EXT-X-MAP` of an fMP4 HLS playlist (RFC 8216 3.3).

use super::boxes::{u16_be, u32_be, unity_matrix, write_box, write_full_box};
use super::track::{TIMESCALE, TRACK_ID};
use crate::h264::CodecParams;

/// `ftyp`: `iso5` promises `default-base-is-moof` readers; `iso6` and `mp41` are what
/// ffmpeg's `-movflags frag_keyframe+empty_moov+default_base_moof` writes too.
fn ftyp(out: &mut Vec<u8>) {
    write_box(out, b"ftyp", |out| {
        out.extend_from_slice(b"iso5");
        u32_be(out, 512); // minor_version
        for brand in [b"iso5", b"iso6", b"mp41"] {
            out.extend_from_slice(brand);
        }
    });
}

/// `mvhd` version 0 (14496-12 8.2.2): no duration (fragments follow), next track 2.
fn mvhd(out: &mut Vec<u8>) {
    write_full_box(out, b"mvhd", 0, 0, |out| {
        u32_be(out, 0); // creation_time
        u32_be(out, 0); // modification_time
        u32_be(out, TIMESCALE);
        u32_be(out, 0); // duration: unknown
        u32_be(out, 0x0001_0000); // rate 1.0
        u16_be(out, 0x0100); // volume 1.0
        out.extend_from_slice(&[0; 10]); // reserved
        unity_matrix(out);
        out.extend_from_slice(&[0; 24]); // pre_defined
        u32_be(out, TRACK_ID + 1); // next_track_ID
    });
}

/// `tkhd` (8.3.2): enabled and in the movie (flags 1 | 2), width and height in 16.16.
fn tkhd(out: &mut Vec<u8>, width: u32, height: u32) {
    write_full_box(out, b"tkhd", 0, 0x0000_0003, |out| {
        u32_be(out, 0); // creation_time
        u32_be(out, 0); // modification_time
        u32_be(out, TRACK_ID);
        u32_be(out, 0); // reserved
        u32_be(out, 0); // duration
        out.extend_from_slice(&[0; 8]); // reserved
        u16_be(out, 0); // layer
        u16_be(out, 0); // alternate_group
        u16_be(out, 0); // volume: video has none
        u16_be(out, 0); // reserved
        unity_matrix(out);
        // Sizes are at most MAX_SIDE_PX (16384), so the 16.16 values fit.
        u32_be(out, width << 16);
        u32_be(out, height << 16);
    });
}

/// `mdhd` (8.4.2): the 90 kHz media timescale, language "und".
fn mdhd(out: &mut Vec<u8>) {
    write_full_box(out, b"mdhd", 0, 0, |out| {
        u32_be(out, 0); // creation_time
        u32_be(out, 0); // modification_time
        u32_be(out, TIMESCALE);
        u32_be(out, 0); // duration
        // ISO 639-2 "und" as three 5-bit letters minus 0x60: u=21, n=14, d=4.
        u16_be(out, (21 << 10) | (14 << 5) | 4);
        u16_be(out, 0); // pre_defined
    });
}

fn hdlr(out: &mut Vec<u8>) {
    write_full_box(out, b"hdlr", 0, 0, |out| {
        u32_be(out, 0); // pre_defined
        out.extend_from_slice(b"vide");
        out.extend_from_slice(&[0; 12]); // reserved
        out.extend_from_slice(b"Lookout video\0");
    });
}

/// The `avc1` visual sample entry (14496-12 12.1.3, 14496-15 5.4.2) with its `avcC` and,
/// for non-square pixels, `pasp`.
fn avc1(out: &mut Vec<u8>, params: &CodecParams) {
    write_box(out, b"avc1", |out| {
        out.extend_from_slice(&[0; 6]); // reserved
        u16_be(out, 1); // data_reference_index
        u16_be(out, 0); // pre_defined
        u16_be(out, 0); // reserved
        out.extend_from_slice(&[0; 12]); // pre_defined
        // At most MAX_SIDE_PX (16384): fits 16 bits.
        u16_be(out, params.width() as u16);
        u16_be(out, params.height() as u16);
        u32_be(out, 0x0048_0000); // horizresolution, 72 dpi
        u32_be(out, 0x0048_0000); // vertresolution
        u32_be(out, 0); // reserved
        u16_be(out, 1); // frame_count
        out.extend_from_slice(&[0; 32]); // compressorname: empty
        u16_be(out, 0x0018); // depth: colour, no alpha
        u16_be(out, 0xFFFF); // pre_defined = -1
        write_box(out, b"avcC", |out| out.extend_from_slice(&params.avcc()));
        if let Some((h, v)) = params.sps.sample_aspect_ratio.filter(|&sar| sar != (1, 1)) {
            write_box(out, b"pasp", |out| {
                u32_be(out, u32::from(h));
                u32_be(out, u32::from(v));
            });
        }
    });
}

fn stbl(out: &mut Vec<u8>, params: &CodecParams) {
    write_box(out, b"stbl", |out| {
        write_full_box(out, b"stsd", 0, 0, |out| {
            u32_be(out, 1); // entry_count
            avc1(out, params);
        });
        // Empty sample tables: every sample is in a fragment.
        write_full_box(out, b"stts", 0, 0, |out| u32_be(out, 0));
        write_full_box(out, b"stsc", 0, 0, |out| u32_be(out, 0));
        write_full_box(out, b"stsz", 0, 0, |out| {
            u32_be(out, 0); // sample_size
            u32_be(out, 0); // sample_count
        });
        write_full_box(out, b"stco", 0, 0, |out| u32_be(out, 0));
    });
}

fn minf(out: &mut Vec<u8>, params: &CodecParams) {
    write_box(out, b"minf", |out| {
        // vmhd's flags must be 1 (8.4.5.2).
        write_full_box(out, b"vmhd", 0, 1, |out| out.extend_from_slice(&[0; 8]));
        write_box(out, b"dinf", |out| {
            write_full_box(out, b"dref", 0, 0, |out| {
                u32_be(out, 1); // entry_count
                // Flag 1: the media is in this file.
                write_full_box(out, b"url ", 0, 1, |_| {});
            });
        });
        stbl(out, params);
    });
}

/// `mvex`/`trex` (8.8.3): the track's samples are in fragments; every sample says its own
/// duration, size and flags in `trun`, so the defaults are zero.
fn mvex(out: &mut Vec<u8>) {
    write_box(out, b"mvex", |out| {
        write_full_box(out, b"trex", 0, 0, |out| {
            u32_be(out, TRACK_ID);
            u32_be(out, 1); // default_sample_description_index
            u32_be(out, 0); // default_sample_duration
            u32_be(out, 0); // default_sample_size
            u32_be(out, 0); // default_sample_flags
        });
    });
}

/// The initialization segment for a stream with these codec parameters.
pub fn init_segment(params: &CodecParams) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    ftyp(&mut out);
    write_box(&mut out, b"moov", |out| {
        mvhd(out);
        write_box(out, b"trak", |out| {
            tkhd(out, params.width(), params.height());
            write_box(out, b"mdia", |out| {
                mdhd(out);
                hdlr(out);
                minf(out, params);
            });
        });
        mvex(out);
    });
    out
}

#[cfg(test)]
mod tests {
    use super::super::boxes::{find_box, parse_boxes};
    use super::*;
    use crate::h264::samples::{X264_HIGH_1278X718, X264_HIGH_PPS};

    #[test]
    fn init_segment_has_the_boxes_players_read() {
        let params = CodecParams::new(X264_HIGH_1278X718, &[X264_HIGH_PPS]).unwrap();
        let init = init_segment(&params);
        let top: Vec<[u8; 4]> = parse_boxes(&init).iter().map(|(k, _)| *k).collect();
        assert_eq!(top, [*b"ftyp", *b"moov"]);
        let moov: Vec<[u8; 4]> = parse_boxes(find_box(&init, &[(b"moov", 0)]).unwrap())
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(moov, [*b"mvhd", *b"trak", *b"mvex"]);

        let mdhd = find_box(
            &init,
            &[(b"moov", 0), (b"trak", 0), (b"mdia", 0), (b"mdhd", 0)],
        )
        .unwrap();
        assert_eq!(&mdhd[12..16], &90_000u32.to_be_bytes());
        let tkhd = find_box(&init, &[(b"moov", 0), (b"trak", 0), (b"tkhd", 0)]).unwrap();
        assert_eq!(
            &tkhd[tkhd.len() - 8..],
            &[0x04, 0xFE, 0, 0, 0x02, 0xCE, 0, 0]
        );
        // stsd: full-box header and entry_count (8 bytes) before avc1; avc1: 78 bytes of
        // fields before its child boxes.
        let stbl = [
            (b"moov", 0),
            (b"trak", 0),
            (b"mdia", 0),
            (b"minf", 0),
            (b"stbl", 0),
            (b"stsd", 8),
            (b"avc1", 78),
            (b"avcC", 0),
        ];
        let avcc = find_box(&init, &stbl).unwrap();
        assert_eq!(avcc, params.avcc().as_slice());
        let avc1 = find_box(&init, &stbl[..7]).unwrap();
        assert_eq!(&avc1[24..28], &[0x04, 0xFE, 0x02, 0xCE], "1278x718");
        assert!(
            find_box(&init, &[(b"moov", 0), (b"mvex", 0), (b"trex", 0)]).is_some(),
            "fragments announced"
        );
    }
}
