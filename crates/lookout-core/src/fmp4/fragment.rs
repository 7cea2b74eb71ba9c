//! Media fragments (ISO/IEC 14496-12 8.8.4): a `moof` describing some samples and the `mdat`
//! holding them. One H.264 access unit is one sample; a fragment holds one (lowest latency,
//! MSE) or several (a GOP, a recorded segment).

use super::boxes::{u32_be, u64_be, write_box, write_full_box};
use super::track::TRACK_ID;
use crate::Error;
use crate::h264::AccessUnit;

/// The largest fragment written: 64 MiB, several seconds of 4K at a camera's bitrates.
pub const MAX_FRAGMENT_BYTES: usize = 64 << 20;

/// `tfhd` flag: offsets are relative to this `moof` (14496-12 8.8.7.1), as MSE requires
/// (Byte Stream Format for ISO BMFF, 3: "default-base-is-moof flag must be set").
const DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;

/// `trun` flags (8.8.8.1).
const DATA_OFFSET_PRESENT: u32 = 0x000_001;
const SAMPLE_DURATION_PRESENT: u32 = 0x000_100;
const SAMPLE_SIZE_PRESENT: u32 = 0x000_200;
const SAMPLE_FLAGS_PRESENT: u32 = 0x000_400;
const SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT: u32 = 0x000_800;

/// Sample flags (8.8.3.1): `sample_depends_on = 2` (depends on no other sample): a key frame.
pub const SYNC_SAMPLE_FLAGS: u32 = 0x0200_0000;
/// `sample_depends_on = 1` and `sample_is_non_sync_sample`: any other picture.
pub const NON_SYNC_SAMPLE_FLAGS: u32 = 0x0101_0000;

/// One access unit with its timing, in 90 kHz units.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub access_unit: &'a AccessUnit,
    pub duration_90k: u32,
    /// Presentation time minus decode time: 0 without B-frames.
    pub composition_offset_90k: i32,
}

/// `moof` + `mdat` for `samples`, numbered `sequence_number` (starting at 1 and rising by one
/// per fragment of a stream), the first sample decoding at `base_decode_time_90k`.
pub fn media_fragment(
    sequence_number: u32,
    base_decode_time_90k: u64,
    samples: &[Sample<'_>],
) -> Result<Vec<u8>, Error> {
    if samples.is_empty() {
        return Err(Error::invalid("an MP4 fragment needs at least one sample"));
    }
    let mut sizes = Vec::with_capacity(samples.len());
    let mut payload: usize = 0;
    for s in samples {
        let size = s.access_unit.length_prefixed_len();
        if size == 0 {
            return Err(Error::invalid(
                "an H.264 access unit with no picture data cannot be an MP4 sample",
            ));
        }
        payload = payload.saturating_add(size);
        if payload > MAX_FRAGMENT_BYTES {
            return Err(Error::invalid(format!(
                "an MP4 fragment of more than {MAX_FRAGMENT_BYTES} bytes: write fewer samples"
            )));
        }
        // Below MAX_FRAGMENT_BYTES, so below 4 GiB.
        sizes.push(size as u32);
    }
    let sample_count = u32::try_from(samples.len())
        .map_err(|_| Error::invalid("too many samples for one MP4 fragment"))?;
    let with_offsets = samples.iter().any(|s| s.composition_offset_90k != 0);
    let mut trun_flags =
        DATA_OFFSET_PRESENT | SAMPLE_DURATION_PRESENT | SAMPLE_SIZE_PRESENT | SAMPLE_FLAGS_PRESENT;
    if with_offsets {
        trun_flags |= SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT;
    }

    let mut out = Vec::with_capacity(payload + 128 + 16 * samples.len());
    let mut data_offset_at = 0;
    write_box(&mut out, b"moof", |out| {
        write_full_box(out, b"mfhd", 0, 0, |out| u32_be(out, sequence_number));
        write_box(out, b"traf", |out| {
            write_full_box(out, b"tfhd", 0, DEFAULT_BASE_IS_MOOF, |out| {
                u32_be(out, TRACK_ID);
            });
            write_full_box(out, b"tfdt", 1, 0, |out| u64_be(out, base_decode_time_90k));
            // Version 1: signed composition offsets (8.8.8.2).
            let version = u8::from(with_offsets);
            write_full_box(out, b"trun", version, trun_flags, |out| {
                u32_be(out, sample_count);
                data_offset_at = out.len();
                u32_be(out, 0); // data_offset, filled in below
                for (s, &size) in samples.iter().zip(&sizes) {
                    u32_be(out, s.duration_90k);
                    u32_be(out, size);
                    u32_be(
                        out,
                        if s.access_unit.is_key {
                            SYNC_SAMPLE_FLAGS
                        } else {
                            NON_SYNC_SAMPLE_FLAGS
                        },
                    );
                    if with_offsets {
                        out.extend_from_slice(&s.composition_offset_90k.to_be_bytes());
                    }
                }
            });
        });
    });
    // The first sample's offset from the start of the moof: past the moof and mdat's header.
    let moof_len = out.len();
    let data_offset =
        u32::try_from(moof_len + 8).map_err(|_| Error::invalid("MP4 fragment header too large"))?;
    out[data_offset_at..data_offset_at + 4].copy_from_slice(&data_offset.to_be_bytes());
    write_box(&mut out, b"mdat", |out| {
        for s in samples {
            s.access_unit.write_length_prefixed(out);
        }
    });
    Ok(out)
}

/// Where `tfdt`'s 64-bit time sits in a `moof` written by [`media_fragment`]: after the
/// moof header (8), mfhd (16), traf header (8), tfhd (16) and tfdt's own header and
/// version/flags (12).
const TFDT_TIME_AT: usize = 60;

fn our_moof_layout(moof: &[u8]) -> bool {
    moof.len() >= TFDT_TIME_AT + 8
        && &moof[4..8] == b"moof"
        && &moof[12..16] == b"mfhd"
        && &moof[28..32] == b"traf"
        && &moof[36..40] == b"tfhd"
        && &moof[52..56] == b"tfdt"
        && moof[56] == 1
}

/// The `tfdt` time of a `moof` written by [`media_fragment`] (a recorded segment read back).
pub fn decode_time(moof: &[u8]) -> Result<u64, Error> {
    if !our_moof_layout(moof) {
        return Err(Error::invalid(
            "not a moof written by lookout_core::fmp4::media_fragment",
        ));
    }
    Ok(u64_from(&moof[TFDT_TIME_AT..TFDT_TIME_AT + 8]))
}

fn u64_from(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

/// A top-level box: its type and its bytes' range, header included.
pub type TopBox = ([u8; 4], std::ops::Range<usize>);

/// The top-level boxes of `data` as (type, byte range including the header), in order. Only
/// 32-bit sizes (what [`media_fragment`] and [`init_segment`](super::init_segment) write);
/// a truncated or malformed box is an error, so a damaged file is refused, not half read.
pub fn top_level_boxes(data: &[u8]) -> Result<Vec<TopBox>, Error> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let Some(header) = data.get(at..at + 8) else {
            return Err(Error::corrupt(format!(
                "a box header cut short at byte {at}"
            )));
        };
        let size = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let end = at
            .checked_add(size)
            .filter(|&e| size >= 8 && e <= data.len());
        let Some(end) = end else {
            return Err(Error::corrupt(format!(
                "a box of {size} bytes at byte {at} does not fit in {} bytes",
                data.len()
            )));
        };
        out.push(([header[4], header[5], header[6], header[7]], at..end));
        at = end;
    }
    Ok(out)
}

/// A copy of `moof` (the `moof` box at the start of a fragment from [`media_fragment`]) with
/// its `tfdt` set to `decode_time_90k`. Lets each viewer of one shared fragment have its own
/// timeline (starting at 0 when it joined, without gaps where it skipped frames) while the
/// `mdat`, the bulk, stays shared.
pub fn moof_with_decode_time(moof: &[u8], decode_time_90k: u64) -> Result<Vec<u8>, Error> {
    if !our_moof_layout(moof) {
        return Err(Error::invalid(
            "not a moof written by lookout_core::fmp4::media_fragment",
        ));
    }
    let moof_len = u32::from_be_bytes([moof[0], moof[1], moof[2], moof[3]]) as usize;
    let mut out = moof
        .get(..moof_len)
        .ok_or_else(|| Error::invalid("moof box longer than the bytes given"))?
        .to_vec();
    out[TFDT_TIME_AT..TFDT_TIME_AT + 8].copy_from_slice(&decode_time_90k.to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::boxes::{find_box, parse_boxes};
    use super::*;
    use bytes::Bytes;

    fn au(is_key: bool, slice: &'static [u8]) -> AccessUnit {
        AccessUnit {
            nals: vec![Bytes::from_static(&[0x09, 0xF0]), Bytes::from_static(slice)],
            is_key,
            params: None,
        }
    }

    fn be32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn two_samples_point_into_their_mdat() {
        let key = au(true, &[0x65, 0x88, 0x84]);
        let p = au(false, &[0x41, 0x9A]);
        let samples = [
            Sample {
                access_unit: &key,
                duration_90k: 3000,
                composition_offset_90k: 0,
            },
            Sample {
                access_unit: &p,
                duration_90k: 3003,
                composition_offset_90k: 0,
            },
        ];
        let frag = media_fragment(7, 1 << 33, &samples).unwrap();
        let top = parse_boxes(&frag);
        assert_eq!((top[0].0, top[1].0), (*b"moof", *b"mdat"));
        // The AUDs are left out: 4 + 3 and 4 + 2 bytes.
        assert_eq!(
            top[1].1,
            [0, 0, 0, 3, 0x65, 0x88, 0x84, 0, 0, 0, 2, 0x41, 0x9A]
        );

        let mfhd = find_box(&frag, &[(b"moof", 0), (b"mfhd", 0)]).unwrap();
        assert_eq!(be32(mfhd, 4), 7);
        let tfhd = find_box(&frag, &[(b"moof", 0), (b"traf", 0), (b"tfhd", 0)]).unwrap();
        assert_eq!((be32(tfhd, 0), be32(tfhd, 4)), (DEFAULT_BASE_IS_MOOF, 1));
        let tfdt = find_box(&frag, &[(b"moof", 0), (b"traf", 0), (b"tfdt", 0)]).unwrap();
        assert_eq!(tfdt[0], 1, "version 1: 64-bit time");
        assert_eq!(u64::from_be_bytes(tfdt[4..12].try_into().unwrap()), 1 << 33);
        let trun = find_box(&frag, &[(b"moof", 0), (b"traf", 0), (b"trun", 0)]).unwrap();
        assert_eq!(
            be32(trun, 0),
            0x0000_0701,
            "version 0, offset+duration+size+flags"
        );
        assert_eq!(be32(trun, 4), 2);
        let data_offset = be32(trun, 8) as usize;
        let moof_len = top[0].1.len() + 8;
        assert_eq!(data_offset, moof_len + 8);
        assert_eq!(&frag[data_offset..data_offset + 5], &[0, 0, 0, 3, 0x65]);
        assert_eq!(
            [be32(trun, 12), be32(trun, 16), be32(trun, 20)],
            [3000, 7, SYNC_SAMPLE_FLAGS]
        );
        assert_eq!(
            [be32(trun, 24), be32(trun, 28), be32(trun, 32)],
            [3003, 6, NON_SYNC_SAMPLE_FLAGS]
        );
    }

    #[test]
    fn a_viewer_gets_its_own_decode_time() {
        let key = au(true, &[0x65, 0x88, 0x84]);
        let s = Sample {
            access_unit: &key,
            duration_90k: 3000,
            composition_offset_90k: 0,
        };
        let frag = media_fragment(3, 900_000, &[s]).unwrap();
        let moof = moof_with_decode_time(&frag, 6000).unwrap();
        let moof_len = parse_boxes(&frag)[0].1.len() + 8;
        assert_eq!(moof.len(), moof_len);
        let mut rebased = moof.clone();
        rebased.extend_from_slice(&frag[moof_len..]);
        let tfdt = find_box(&rebased, &[(b"moof", 0), (b"traf", 0), (b"tfdt", 0)]).unwrap();
        assert_eq!(u64::from_be_bytes(tfdt[4..12].try_into().unwrap()), 6000);
        // Everything else is the same bytes.
        let mut original = frag.clone();
        original[TFDT_TIME_AT..TFDT_TIME_AT + 8].copy_from_slice(&6000u64.to_be_bytes());
        assert_eq!(rebased, original);
        assert!(moof_with_decode_time(&frag[..40], 0).is_err());
        assert!(
            moof_with_decode_time(
                b"not a box at all, not a box at all, not a box at all, not a box",
                0
            )
            .is_err()
        );
    }

    #[test]
    fn composition_offsets_use_trun_version_1() {
        let p = au(false, &[0x41, 0x9A]);
        let samples = [Sample {
            access_unit: &p,
            duration_90k: 3000,
            composition_offset_90k: -3000,
        }];
        let frag = media_fragment(1, 0, &samples).unwrap();
        let trun = find_box(&frag, &[(b"moof", 0), (b"traf", 0), (b"trun", 0)]).unwrap();
        assert_eq!(be32(trun, 0), 0x0100_0F01);
        assert_eq!(be32(trun, 24) as i32, -3000);
    }

    #[test]
    fn empty_fragments_and_empty_samples_are_refused() {
        assert!(media_fragment(1, 0, &[]).is_err());
        let only_aud = AccessUnit {
            nals: vec![Bytes::from_static(&[0x09, 0xF0])],
            is_key: false,
            params: None,
        };
        let s = Sample {
            access_unit: &only_aud,
            duration_90k: 1,
            composition_offset_90k: 0,
        };
        assert!(media_fragment(1, 0, &[s]).is_err());
    }
}
