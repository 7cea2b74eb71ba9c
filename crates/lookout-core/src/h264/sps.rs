//! Sequence and picture parameter sets (H.264 7.3.2.1.1, 7.3.2.2, Annex E VUI): what a
//! player needs to know before the first picture — profile, level, chroma format, frame size
//! after cropping, and the frame rate when the encoder wrote it.

use super::bits::{BitReader, remove_emulation_prevention};
use super::nal::{NalHeader, NalType};
use crate::Error;

/// The largest frame side we accept, in pixels: twice level 6.2's 8192. Bigger is damage, and
/// would make later buffers (a decoder's, an encoder's) absurd.
pub const MAX_SIDE_PX: u32 = 16_384;

/// Profiles whose SPS carries chroma format, bit depths and scaling matrices (7.3.2.1.1).
const PROFILES_WITH_CHROMA_INFO: [u8; 13] =
    [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

/// `timing_info` of the VUI (E.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VuiTiming {
    pub num_units_in_tick: u32,
    pub time_scale: u32,
    pub fixed_frame_rate: bool,
}

impl VuiTiming {
    /// Frames per second: a frame is two ticks (E.2.1, `time_scale / (2 * num_units_in_tick)`
    /// for progressive frames, which is how x264, ffmpeg and cameras write it).
    pub fn frame_rate(&self) -> Option<f64> {
        (self.num_units_in_tick > 0 && self.time_scale > 0)
            .then(|| f64::from(self.time_scale) / (2.0 * f64::from(self.num_units_in_tick)))
    }
}

/// Frame cropping offsets, in crop units (7.4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Crop {
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
}

/// A parsed sequence parameter set.
#[derive(Debug, Clone, PartialEq)]
pub struct Sps {
    pub profile_idc: u8,
    /// The byte of `constraint_set0_flag`..`constraint_set5_flag` and the two reserved bits:
    /// the "profile compatibility" byte of RFC 6381 and avcC.
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub sps_id: u32,
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u32,
    pub separate_colour_plane: bool,
    pub bit_depth_luma: u8,
    pub bit_depth_chroma: u8,
    pub log2_max_frame_num: u8,
    pub pic_order_cnt_type: u32,
    pub max_num_ref_frames: u32,
    /// False for interlaced coding (fields or MBAFF): then a map unit is two macroblock rows.
    pub frame_mbs_only: bool,
    pub width_mbs: u32,
    pub height_map_units: u32,
    pub crop: Crop,
    /// Displayed size: the coded size minus cropping.
    pub width: u32,
    pub height: u32,
    /// `sar_width:sar_height` when the VUI gives it (E.2.1, `aspect_ratio_idc` Table E-1).
    pub sample_aspect_ratio: Option<(u16, u16)>,
    pub timing: Option<VuiTiming>,
}

/// Sample aspect ratios of Table E-1, by `aspect_ratio_idc` 1..=16.
const SAR_TABLE: [(u16, u16); 16] = [
    (1, 1),
    (12, 11),
    (10, 11),
    (16, 11),
    (40, 33),
    (24, 11),
    (20, 11),
    (32, 11),
    (80, 33),
    (18, 11),
    (15, 11),
    (64, 33),
    (160, 99),
    (4, 3),
    (3, 2),
    (2, 1),
];

/// `aspect_ratio_idc` that means an explicit `sar_width`/`sar_height` follows.
const EXTENDED_SAR: u8 = 255;

fn expect_type(nal: &[u8], want: NalType) -> Result<(), Error> {
    let header = NalHeader::parse(nal)?;
    if header.nal_type != want {
        return Err(Error::invalid(format!(
            "expected an H.264 {}, got a {} NAL unit",
            want.name(),
            header.nal_type.name()
        )));
    }
    Ok(())
}

impl Sps {
    /// Parses an SPS NAL unit (header byte included, no start code).
    pub fn parse(nal: &[u8]) -> Result<Self, Error> {
        expect_type(nal, NalType::SPS)?;
        let rbsp = remove_emulation_prevention(&nal[1..]);
        let mut r = BitReader::new(&rbsp);
        let profile_idc = r.read_u8()?;
        let constraint_flags = r.read_u8()?;
        let level_idc = r.read_u8()?;
        let sps_id = r.read_ue_max(31, "seq_parameter_set_id")?;

        let mut chroma_format_idc = 1;
        let mut separate_colour_plane = false;
        let mut bit_depth_luma = 8;
        let mut bit_depth_chroma = 8;
        if PROFILES_WITH_CHROMA_INFO.contains(&profile_idc) {
            chroma_format_idc = r.read_ue_max(3, "chroma_format_idc")?;
            if chroma_format_idc == 3 {
                separate_colour_plane = r.read_flag()?;
            }
            // bit_depth_*_minus8 are 0..=6 (7.4.2.1.1): at most 14 bits.
            bit_depth_luma = 8 + r.read_ue_max(6, "bit_depth_luma_minus8")? as u8;
            bit_depth_chroma = 8 + r.read_ue_max(6, "bit_depth_chroma_minus8")? as u8;
            let _qpprime_y_zero_transform_bypass = r.read_flag()?;
            if r.read_flag()? {
                // seq_scaling_matrix_present_flag: 6 4x4 lists, then 2 (or 6 for 4:4:4) 8x8.
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.read_flag()? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }

        // log2_max_frame_num_minus4 is 0..=12 (7.4.2.1.1).
        let log2_max_frame_num = 4 + r.read_ue_max(12, "log2_max_frame_num_minus4")? as u8;
        let pic_order_cnt_type = r.read_ue_max(2, "pic_order_cnt_type")?;
        match pic_order_cnt_type {
            0 => {
                r.read_ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")?;
            }
            1 => {
                let _delta_pic_order_always_zero = r.read_flag()?;
                let _offset_for_non_ref_pic = r.read_se()?;
                let _offset_for_top_to_bottom_field = r.read_se()?;
                let cycle = r.read_ue_max(255, "num_ref_frames_in_pic_order_cnt_cycle")?;
                for _ in 0..cycle {
                    r.read_se()?;
                }
            }
            _ => {}
        }
        // MaxDpbFrames is at most 16 (A.3.1).
        let max_num_ref_frames = r.read_ue_max(16, "max_num_ref_frames")?;
        let _gaps_in_frame_num_allowed = r.read_flag()?;
        let width_mbs = r.read_ue_max(MAX_SIDE_PX / 16 - 1, "pic_width_in_mbs_minus1")? + 1;
        let height_map_units =
            r.read_ue_max(MAX_SIDE_PX / 16 - 1, "pic_height_in_map_units_minus1")? + 1;
        let frame_mbs_only = r.read_flag()?;
        if !frame_mbs_only {
            let _mb_adaptive_frame_field = r.read_flag()?;
        }
        let _direct_8x8_inference = r.read_flag()?;
        let crop = if r.read_flag()? {
            Crop {
                left: r.read_ue()?,
                right: r.read_ue()?,
                top: r.read_ue()?,
                bottom: r.read_ue()?,
            }
        } else {
            Crop::default()
        };

        // Sizes in u64: the crop offsets are any ue(v) and must not overflow (7.4.2.1.1).
        let coded_width = u64::from(width_mbs) * 16;
        let frame_height_mbs = u64::from(height_map_units) * if frame_mbs_only { 1 } else { 2 };
        let coded_height = frame_height_mbs * 16;
        if coded_height > u64::from(MAX_SIDE_PX) {
            return Err(Error::corrupt(format!(
                "H.264 SPS frame height {coded_height} is past {MAX_SIDE_PX}"
            )));
        }
        // ChromaArrayType is 0 for monochrome and for separately coded colour planes.
        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            chroma_format_idc
        };
        let (sub_width_c, sub_height_c) = match chroma_array_type {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let (crop_unit_x, crop_unit_y) = if chroma_array_type == 0 {
            (1, if frame_mbs_only { 1 } else { 2 })
        } else {
            (
                sub_width_c,
                sub_height_c * if frame_mbs_only { 1 } else { 2 },
            )
        };
        let crop_x = crop_unit_x * (u64::from(crop.left) + u64::from(crop.right));
        let crop_y = crop_unit_y * (u64::from(crop.top) + u64::from(crop.bottom));
        if crop_x >= coded_width || crop_y >= coded_height {
            return Err(Error::corrupt(format!(
                "H.264 SPS crops {crop_x}x{crop_y} off a {coded_width}x{coded_height} frame: nothing left"
            )));
        }
        // Both are below MAX_SIDE_PX, checked above.
        let width = (coded_width - crop_x) as u32;
        let height = (coded_height - crop_y) as u32;

        let (sample_aspect_ratio, timing) = if r.read_flag()? {
            // A VUI cut short or damaged loses only what it held: the picture still decodes
            // (ffmpeg does the same, with a warning), so the SPS stays usable.
            parse_vui(&mut r).unwrap_or((None, None))
        } else {
            (None, None)
        };

        Ok(Self {
            profile_idc,
            constraint_flags,
            level_idc,
            sps_id,
            chroma_format_idc,
            separate_colour_plane,
            bit_depth_luma,
            bit_depth_chroma,
            log2_max_frame_num,
            pic_order_cnt_type,
            max_num_ref_frames,
            frame_mbs_only,
            width_mbs,
            height_map_units,
            crop,
            width,
            height,
            sample_aspect_ratio,
            timing,
        })
    }
}

/// Skips `scaling_list()` (7.3.2.1.1.1) of `size` coefficients: it has no length, so each
/// `delta_scale` must be read, and reading stops once `nextScale` becomes 0.
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), Error> {
    let mut last_scale: i32 = 8;
    let mut next_scale: i32 = 8;
    for _ in 0..size {
        if next_scale != 0 {
            let delta = r.read_se()?;
            if !(-128..=127).contains(&delta) {
                return Err(Error::corrupt(format!(
                    "H.264 scaling list delta_scale {delta} outside -128..=127"
                )));
            }
            next_scale = (last_scale + delta + 256).rem_euclid(256);
        }
        if next_scale != 0 {
            last_scale = next_scale;
        }
    }
    Ok(())
}

/// The parts of `vui_parameters()` (E.1.1) before and including `timing_info`; the HRD and
/// bitstream-restriction parts after it are not needed.
#[allow(clippy::type_complexity)]
fn parse_vui(r: &mut BitReader<'_>) -> Result<(Option<(u16, u16)>, Option<VuiTiming>), Error> {
    let mut sar = None;
    if r.read_flag()? {
        let idc = r.read_u8()?;
        if idc == EXTENDED_SAR {
            // 16-bit fields.
            let w = r.read_bits(16)? as u16;
            let h = r.read_bits(16)? as u16;
            sar = (w > 0 && h > 0).then_some((w, h));
        } else if (1..=16).contains(&idc) {
            sar = Some(SAR_TABLE[usize::from(idc) - 1]);
        }
    }
    if r.read_flag()? {
        let _overscan_appropriate = r.read_flag()?;
    }
    if r.read_flag()? {
        // video_format (3), video_full_range_flag (1), colour_description_present_flag (1).
        r.skip_bits(4)?;
        if r.read_flag()? {
            // colour_primaries, transfer_characteristics, matrix_coefficients.
            r.skip_bits(24)?;
        }
    }
    if r.read_flag()? {
        r.read_ue_max(5, "chroma_sample_loc_type_top_field")?;
        r.read_ue_max(5, "chroma_sample_loc_type_bottom_field")?;
    }
    let mut timing = None;
    if r.read_flag()? {
        let num_units_in_tick = r.read_bits(32)?;
        let time_scale = r.read_bits(32)?;
        let fixed_frame_rate = r.read_flag()?;
        if num_units_in_tick > 0 && time_scale > 0 {
            timing = Some(VuiTiming {
                num_units_in_tick,
                time_scale,
                fixed_frame_rate,
            });
        }
    }
    Ok((sar, timing))
}

/// The ids a PPS carries first: `(pic_parameter_set_id, seq_parameter_set_id)` (7.3.2.2).
pub fn pps_ids(nal: &[u8]) -> Result<(u32, u32), Error> {
    expect_type(nal, NalType::PPS)?;
    // Two ue(v) of at most 65 bits each fit in 17 bytes, plus emulation prevention.
    let head = &nal[1..nal.len().min(24)];
    let rbsp = remove_emulation_prevention(head);
    let mut r = BitReader::new(&rbsp);
    let pps_id = r.read_ue_max(255, "pic_parameter_set_id")?;
    let sps_id = r.read_ue_max(31, "seq_parameter_set_id")?;
    Ok((pps_id, sps_id))
}

/// `first_mb_in_slice` of a slice NAL unit (types 1, 2, 5), read from the first bytes only:
/// `None` if `nal` is not such a unit or its bytes so far do not hold the whole code.
pub fn first_mb_in_slice(nal: &[u8]) -> Option<u32> {
    let header = NalHeader::parse(nal).ok()?;
    if !header.nal_type.has_slice_header() {
        return None;
    }
    // ue(v) of a u32 is at most 63 bits; 12 bytes leave room for emulation prevention.
    let head = &nal[1..nal.len().min(13)];
    let rbsp = remove_emulation_prevention(head);
    BitReader::new(&rbsp).read_ue().ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::bits::tests::BitWriter;
    use super::super::samples::{
        X264_BASELINE_1278X718, X264_BASELINE_PPS, X264_HIGH_1278X718, X264_HIGH_PPS,
    };
    use super::*;

    /// An SPS written field by field, to reach the branches real encoders rarely take.
    struct SpsSpec {
        profile_idc: u8,
        chroma_format_idc: u32,
        scaling: Option<Vec<(usize, Vec<i32>)>>,
        poc_type: u32,
        width_mbs: u32,
        height_map_units: u32,
        frame_mbs_only: bool,
        crop: Option<[u32; 4]>,
        vui_timing: Option<(u32, u32)>,
        vui_sar: Option<u8>,
    }

    impl Default for SpsSpec {
        fn default() -> Self {
            Self {
                profile_idc: 100,
                chroma_format_idc: 1,
                scaling: None,
                poc_type: 0,
                width_mbs: 80,
                height_map_units: 45,
                frame_mbs_only: true,
                crop: None,
                vui_timing: None,
                vui_sar: None,
            }
        }
    }

    fn write_sps(s: &SpsSpec) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.bits(0x67, 8)
            .bits(u64::from(s.profile_idc), 8)
            .bits(0, 8)
            .bits(40, 8)
            .ue(0);
        if PROFILES_WITH_CHROMA_INFO.contains(&s.profile_idc) {
            w.ue(s.chroma_format_idc);
            if s.chroma_format_idc == 3 {
                w.bit(false);
            }
            w.ue(0).ue(0).bit(false);
            match &s.scaling {
                None => {
                    w.bit(false);
                }
                Some(lists) => {
                    w.bit(true);
                    let n = if s.chroma_format_idc == 3 { 12 } else { 8 };
                    for i in 0..n {
                        match lists.iter().find(|(j, _)| *j == i) {
                            Some((_, deltas)) => {
                                w.bit(true);
                                for &d in deltas {
                                    w.se(d);
                                }
                            }
                            None => {
                                w.bit(false);
                            }
                        }
                    }
                }
            }
        }
        w.ue(0).ue(s.poc_type);
        match s.poc_type {
            0 => {
                w.ue(2);
            }
            1 => {
                w.bit(false).se(-3).se(5).ue(2).se(1).se(-1);
            }
            _ => {}
        }
        w.ue(4)
            .bit(false)
            .ue(s.width_mbs - 1)
            .ue(s.height_map_units - 1);
        w.bit(s.frame_mbs_only);
        if !s.frame_mbs_only {
            w.bit(true);
        }
        w.bit(true);
        match s.crop {
            Some(c) => {
                w.bit(true).ue(c[0]).ue(c[1]).ue(c[2]).ue(c[3]);
            }
            None => {
                w.bit(false);
            }
        }
        let vui = s.vui_timing.is_some() || s.vui_sar.is_some();
        w.bit(vui);
        if vui {
            match s.vui_sar {
                Some(idc) => {
                    w.bit(true).bits(u64::from(idc), 8);
                    if idc == 255 {
                        w.bits(4, 16).bits(3, 16);
                    }
                }
                None => {
                    w.bit(false);
                }
            }
            w.bit(false).bit(false).bit(false);
            match s.vui_timing {
                Some((n, t)) => {
                    w.bit(true)
                        .bits(u64::from(n), 32)
                        .bits(u64::from(t), 32)
                        .bit(true);
                }
                None => {
                    w.bit(false);
                }
            }
            // No HRD, no pic_struct, no bitstream restriction.
            w.bit(false).bit(false).bit(false).bit(false);
        }
        w.trailing();
        add_emulation_prevention(&w.bytes)
    }

    /// The encoder's side of 7.4.1: a 03 after two zeros before any byte <= 03.
    fn add_emulation_prevention(rbsp: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut zeros = 0;
        for &b in rbsp {
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            out.push(b);
        }
        out
    }

    #[test]
    fn real_x264_baseline_sps_with_cropping_and_timing() {
        let sps = Sps::parse(X264_BASELINE_1278X718).unwrap();
        assert_eq!(
            (sps.profile_idc, sps.constraint_flags, sps.level_idc),
            (66, 0xC0, 31)
        );
        assert_eq!((sps.width_mbs, sps.height_map_units), (80, 45));
        assert_eq!((sps.width, sps.height), (1278, 718));
        assert_eq!(sps.chroma_format_idc, 1);
        assert!(sps.frame_mbs_only);
        assert_eq!(sps.timing.unwrap().frame_rate(), Some(30.0));

        let sps = Sps::parse(X264_HIGH_1278X718).unwrap();
        assert_eq!(
            (sps.profile_idc, sps.constraint_flags, sps.level_idc),
            (100, 0x00, 31)
        );
        assert_eq!(
            (sps.width, sps.height, sps.chroma_format_idc),
            (1278, 718, 1)
        );
        assert_eq!((sps.bit_depth_luma, sps.bit_depth_chroma), (8, 8));
        assert_eq!(sps.timing.unwrap().frame_rate(), Some(25.0));
        assert_eq!(pps_ids(X264_BASELINE_PPS).unwrap(), (0, 0));
        assert_eq!(pps_ids(X264_HIGH_PPS).unwrap(), (0, 0));
    }

    #[test]
    fn high_profile_scaling_lists_are_skipped_to_the_right_bit() {
        // Lists 0 (4x4, ends early on nextScale 0) and 6 (8x8, all 64 deltas) present: the
        // fields after them (the size) must still come out right.
        let mut full = vec![1; 64];
        full[10] = -5;
        let spec = SpsSpec {
            scaling: Some(vec![(0, vec![4, -12]), (6, full), (7, vec![-8])]),
            crop: Some([0, 1, 0, 4]),
            ..Default::default()
        };
        let sps = Sps::parse(&write_sps(&spec)).unwrap();
        assert_eq!((sps.width, sps.height), (1278, 712));
        // 4:4:4 has 12 lists and a crop unit of 1.
        let spec = SpsSpec {
            profile_idc: 244,
            chroma_format_idc: 3,
            scaling: Some(vec![(11, vec![5; 64])]),
            crop: Some([1, 1, 1, 1]),
            ..Default::default()
        };
        let sps = Sps::parse(&write_sps(&spec)).unwrap();
        assert_eq!(
            (sps.chroma_format_idc, sps.width, sps.height),
            (3, 1278, 718)
        );
        // A delta out of range is an error, not a wrap.
        let spec = SpsSpec {
            scaling: Some(vec![(1, vec![300])]),
            ..Default::default()
        };
        assert!(Sps::parse(&write_sps(&spec)).is_err());
    }

    #[test]
    fn chroma_formats_and_fields_change_the_crop_unit() {
        let size = |chroma_format_idc, frame_mbs_only, crop| {
            let spec = SpsSpec {
                chroma_format_idc,
                frame_mbs_only,
                height_map_units: if frame_mbs_only { 45 } else { 23 },
                crop: Some(crop),
                ..Default::default()
            };
            let sps = Sps::parse(&write_sps(&spec)).unwrap();
            (sps.width, sps.height)
        };
        // 4:2:0 progressive: units of 2x2.
        assert_eq!(size(1, true, [1, 0, 0, 1]), (1278, 718));
        // 4:2:2: 2x1.
        assert_eq!(size(2, true, [1, 0, 0, 1]), (1278, 719));
        // Monochrome: 1x1.
        assert_eq!(size(0, true, [1, 0, 0, 1]), (1279, 719));
        // 4:2:0 interlaced: 23 map units are 46 macroblock rows (736), crop unit 2x4.
        assert_eq!(size(1, false, [0, 0, 0, 4]), (1280, 720));
        // POC types 1 and 2 parse too.
        for poc_type in [1, 2] {
            let spec = SpsSpec {
                poc_type,
                profile_idc: 66,
                ..Default::default()
            };
            assert_eq!(Sps::parse(&write_sps(&spec)).unwrap().width, 1280);
        }
    }

    #[test]
    fn vui_sar_and_timing_and_a_truncated_vui() {
        let spec = SpsSpec {
            vui_sar: Some(255),
            vui_timing: Some((1001, 60_000)),
            ..Default::default()
        };
        let bytes = write_sps(&spec);
        let sps = Sps::parse(&bytes).unwrap();
        assert_eq!(sps.sample_aspect_ratio, Some((4, 3)));
        let fps = sps.timing.unwrap().frame_rate().unwrap();
        assert!((fps - 29.97).abs() < 0.01, "{fps}");
        // Cut inside the timing info: the SPS is kept, the timing is not.
        let cut = &bytes[..bytes.len() - 6];
        let sps = Sps::parse(cut).unwrap();
        assert_eq!((sps.width, sps.timing), (1280, None));
        let spec = SpsSpec {
            vui_sar: Some(14),
            ..Default::default()
        };
        assert_eq!(
            Sps::parse(&write_sps(&spec)).unwrap().sample_aspect_ratio,
            Some((4, 3))
        );
    }

    #[test]
    fn impossible_sizes_are_errors() {
        let spec = SpsSpec {
            crop: Some([640, 0, 0, 0]),
            ..Default::default()
        };
        assert!(Sps::parse(&write_sps(&spec)).is_err(), "crops everything");
        let spec = SpsSpec {
            crop: Some([u32::MAX - 1, u32::MAX - 1, 0, 0]),
            ..Default::default()
        };
        assert!(Sps::parse(&write_sps(&spec)).is_err(), "no overflow");
        let spec = SpsSpec {
            width_mbs: 1025,
            ..Default::default()
        };
        assert!(Sps::parse(&write_sps(&spec)).is_err(), "16400 px wide");
        let spec = SpsSpec {
            frame_mbs_only: false,
            height_map_units: 600,
            ..Default::default()
        };
        assert!(Sps::parse(&write_sps(&spec)).is_err(), "19200 px high");
        assert!(Sps::parse(&[0x68, 0x42]).is_err(), "a PPS");
        assert!(
            Sps::parse(&X264_BASELINE_1278X718[..8]).is_err(),
            "cut short"
        );
    }

    #[test]
    fn pps_ids_and_first_mb() {
        assert_eq!(pps_ids(&[0x68, 0xCE, 0x3C, 0x80]).unwrap(), (0, 0));
        let mut w = BitWriter::default();
        w.bits(0x68, 8).ue(200).ue(31).trailing();
        assert_eq!(pps_ids(&w.bytes).unwrap(), (200, 31));
        let mut w = BitWriter::default();
        w.bits(0x68, 8).ue(256).ue(0).trailing();
        assert!(pps_ids(&w.bytes).is_err());
        assert!(pps_ids(&[0x68]).is_err());

        assert_eq!(first_mb_in_slice(&[0x65, 0x88, 0x84]), Some(0));
        let mut w = BitWriter::default();
        w.bits(0x41, 8).ue(3600).ue(0);
        assert_eq!(first_mb_in_slice(&w.bytes), Some(3600));
        assert_eq!(first_mb_in_slice(&w.bytes[..2]), None, "not all there yet");
        assert_eq!(first_mb_in_slice(&[0x67, 0x80]), None, "not a slice");
        assert_eq!(first_mb_in_slice(&[0x23, 0x80]), None, "partition B");
    }
}
