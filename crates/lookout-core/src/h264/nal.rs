//! NAL unit headers and types (H.264 7.3.1, Table 7-1).

use crate::Error;

/// The largest NAL unit accepted: 8 MiB. A 4K intra picture at high quality is ~2 MB;
/// more means damage or a stream that is not H.264, and must not grow memory without bound.
pub const MAX_NAL_BYTES: usize = 8 << 20;

/// `nal_unit_type`, 0..=31. A newtype rather than an enum: every value is valid syntax, and
/// the reserved ones must pass through untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NalType(pub u8);

impl NalType {
    pub const SLICE: Self = Self(1);
    pub const SLICE_PARTITION_A: Self = Self(2);
    pub const SLICE_PARTITION_B: Self = Self(3);
    pub const SLICE_PARTITION_C: Self = Self(4);
    pub const IDR_SLICE: Self = Self(5);
    pub const SEI: Self = Self(6);
    pub const SPS: Self = Self(7);
    pub const PPS: Self = Self(8);
    pub const AUD: Self = Self(9);
    pub const END_OF_SEQUENCE: Self = Self(10);
    pub const END_OF_STREAM: Self = Self(11);
    pub const FILLER: Self = Self(12);
    pub const SPS_EXTENSION: Self = Self(13);
    pub const PREFIX: Self = Self(14);
    pub const SUBSET_SPS: Self = Self(15);

    /// A slice of the primary coded picture: VCL NAL units 1..=5 (Table 7-1).
    pub fn is_vcl(self) -> bool {
        (1..=5).contains(&self.0)
    }

    /// Whether this VCL NAL unit's payload starts with a slice header, and so with
    /// `first_mb_in_slice` (partitions B and C start with `slice_id` instead).
    pub fn has_slice_header(self) -> bool {
        matches!(self.0, 1 | 2 | 5)
    }

    /// NAL units that, after the last VCL NAL unit of a primary coded picture, start a new
    /// access unit (H.264 7.4.1.2.3): AUD, SPS, PPS, SEI and types 14..=18.
    pub fn starts_access_unit_after_vcl(self) -> bool {
        matches!(self.0, 6..=9 | 14..=18)
    }

    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "non-IDR slice",
            2 => "slice partition A",
            3 => "slice partition B",
            4 => "slice partition C",
            5 => "IDR slice",
            6 => "SEI",
            7 => "SPS",
            8 => "PPS",
            9 => "access unit delimiter",
            10 => "end of sequence",
            11 => "end of stream",
            12 => "filler data",
            13 => "SPS extension",
            14 => "prefix NAL unit",
            15 => "subset SPS",
            19 => "auxiliary slice",
            20 => "slice extension",
            0 | 24..=31 => "unspecified",
            _ => "reserved",
        }
    }
}

/// The one-byte NAL unit header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NalHeader {
    /// `nal_ref_idc`, 0..=3: 0 means no other picture refers to this one.
    pub ref_idc: u8,
    pub nal_type: NalType,
}

impl NalHeader {
    /// Parses the first byte of a NAL unit (the byte after the start code).
    pub fn parse(nal: &[u8]) -> Result<Self, Error> {
        let &b = nal
            .first()
            .ok_or_else(|| Error::corrupt("empty H.264 NAL unit"))?;
        if b & 0x80 != 0 {
            return Err(Error::corrupt(
                "H.264 NAL unit with forbidden_zero_bit set: not H.264, or damaged",
            ));
        }
        Ok(Self {
            ref_idc: (b >> 5) & 0x03,
            nal_type: NalType(b & 0x1F),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_real_nal_units() {
        // x264's first bytes: 67 = SPS ref 3, 68 = PPS, 65 = IDR, 41 = non-IDR ref 2, 06 = SEI.
        let cases = [
            (0x67, 3, NalType::SPS),
            (0x68, 3, NalType::PPS),
            (0x65, 3, NalType::IDR_SLICE),
            (0x41, 2, NalType::SLICE),
            (0x01, 0, NalType::SLICE),
            (0x06, 0, NalType::SEI),
            (0x09, 0, NalType::AUD),
        ];
        for (byte, ref_idc, nal_type) in cases {
            assert_eq!(
                NalHeader::parse(&[byte]).unwrap(),
                NalHeader { ref_idc, nal_type }
            );
        }
        assert!(NalHeader::parse(&[]).is_err());
        assert!(NalHeader::parse(&[0xE7]).is_err(), "forbidden bit");
    }

    #[test]
    fn classes_follow_table_7_1() {
        let vcl: Vec<u8> = (0..32).filter(|&t| NalType(t).is_vcl()).collect();
        assert_eq!(vcl, [1, 2, 3, 4, 5]);
        let starts: Vec<u8> = (0..32)
            .filter(|&t| NalType(t).starts_access_unit_after_vcl())
            .collect();
        assert_eq!(starts, [6, 7, 8, 9, 14, 15, 16, 17, 18]);
        assert_eq!(NalType(23).name(), "reserved");
        assert_eq!(NalType(30).name(), "unspecified");
    }
}
