//! Reading H.264 syntax: emulation-prevention removal (NAL payload → RBSP) and a bit reader
//! with the exp-Golomb codes of H.264 9.1.
//!
//! Every read is bounds-checked and returns an error past the end: these run on bytes from
//! cameras and pipes, and will be fuzzed.

use crate::Error;

/// The RBSP of a NAL unit's payload: every `00 00 03` has its `03` removed (H.264 7.4.1,
/// `emulation_prevention_three_byte`). The output is never longer than the input.
pub fn remove_emulation_prevention(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0usize;
    for &b in payload {
        if zeros >= 2 && b == 0x03 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// A big-endian bit reader over an RBSP.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Bits left to read.
    pub fn remaining_bits(&self) -> usize {
        (self.data.len() * 8).saturating_sub(self.pos)
    }

    /// Bits read so far.
    pub fn position_bits(&self) -> usize {
        self.pos
    }

    fn truncated(what: &str) -> Error {
        Error::corrupt(format!("H.264 syntax ends in the middle of {what}"))
    }

    pub fn read_bit(&mut self) -> Result<bool, Error> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or_else(|| Self::truncated("a bit field"))?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    pub fn read_flag(&mut self) -> Result<bool, Error> {
        self.read_bit()
    }

    /// `u(n)` for `n` up to 32.
    pub fn read_bits(&mut self, n: u32) -> Result<u32, Error> {
        if n > 32 {
            return Err(Error::internal(format!("read_bits({n}): at most 32")));
        }
        if self.remaining_bits() < n as usize {
            return Err(Self::truncated("a bit field"));
        }
        let mut v: u64 = 0;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.read_bit()?);
        }
        // At most 32 bits were shifted in.
        Ok(v as u32)
    }

    pub fn read_u8(&mut self) -> Result<u8, Error> {
        // 8 bits always fit.
        Ok(self.read_bits(8)? as u8)
    }

    pub fn skip_bits(&mut self, n: usize) -> Result<(), Error> {
        if self.remaining_bits() < n {
            return Err(Self::truncated("skipped bits"));
        }
        self.pos += n;
        Ok(())
    }

    /// `ue(v)`, H.264 9.1. Values past `u32::MAX` (more than 31 leading zeros) are an error,
    /// as in every real decoder: no syntax element needs them.
    pub fn read_ue(&mut self) -> Result<u32, Error> {
        let mut leading_zeros = 0u32;
        while !self.read_bit()? {
            leading_zeros += 1;
            if leading_zeros > 31 {
                return Err(Error::corrupt("H.264 exp-Golomb code longer than 32 bits"));
            }
        }
        if leading_zeros == 0 {
            return Ok(0);
        }
        let suffix = u64::from(self.read_bits(leading_zeros)?);
        let v = (1u64 << leading_zeros) - 1 + suffix;
        u32::try_from(v).map_err(|_| Error::corrupt("H.264 exp-Golomb value past 2^32 - 1"))
    }

    /// `se(v)`, H.264 9.1.1: 1, -1, 2, -2, ... for codes 1, 2, 3, 4, ...
    pub fn read_se(&mut self) -> Result<i32, Error> {
        let k = i64::from(self.read_ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        // |v| <= 2^31, and -2^31 fits; +2^31 does not.
        i32::try_from(v).map_err(|_| Error::corrupt("H.264 signed exp-Golomb value out of range"))
    }

    /// `ue(v)` that must be at most `max` (a range the standard sets for the element `name`).
    pub fn read_ue_max(&mut self, max: u32, name: &str) -> Result<u32, Error> {
        let v = self.read_ue()?;
        if v > max {
            return Err(Error::corrupt(format!(
                "H.264 {name} is {v}, the standard allows at most {max}"
            )));
        }
        Ok(v)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes bits and exp-Golomb codes: the tests' way to make hand-made syntax.
    #[derive(Default)]
    pub(crate) struct BitWriter {
        pub bytes: Vec<u8>,
        bits: usize,
    }

    impl BitWriter {
        pub fn bit(&mut self, b: bool) -> &mut Self {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if b {
                let last = self.bytes.len() - 1;
                self.bytes[last] |= 0x80 >> (self.bits % 8);
            }
            self.bits += 1;
            self
        }
        pub fn bits(&mut self, v: u64, n: u32) -> &mut Self {
            for i in (0..n).rev() {
                self.bit((v >> i) & 1 == 1);
            }
            self
        }
        pub fn ue(&mut self, v: u32) -> &mut Self {
            let x = u64::from(v) + 1;
            let len = 64 - x.leading_zeros();
            self.bits(0, len - 1).bits(x, len)
        }
        pub fn se(&mut self, v: i32) -> &mut Self {
            let k = if v > 0 {
                2 * v as i64 - 1
            } else {
                -2 * v as i64
            };
            self.ue(k as u32)
        }
        /// rbsp_trailing_bits: a 1 and zeros to the byte boundary.
        pub fn trailing(&mut self) -> &mut Self {
            self.bit(true);
            while !self.bits.is_multiple_of(8) {
                self.bit(false);
            }
            self
        }
    }

    #[test]
    fn exp_golomb_round_trips_and_edges() {
        let values = [
            0u32,
            1,
            2,
            3,
            7,
            8,
            254,
            255,
            256,
            65_535,
            1 << 20,
            u32::MAX - 1,
        ];
        let signed = [0i32, 1, -1, 2, -2, 127, -128, i32::MAX, -i32::MAX];
        let mut w = BitWriter::default();
        for v in values {
            w.ue(v);
        }
        for v in signed {
            w.se(v);
        }
        let mut r = BitReader::new(&w.bytes);
        for v in values {
            assert_eq!(r.read_ue().unwrap(), v);
        }
        for v in signed {
            assert_eq!(r.read_se().unwrap(), v);
        }
        // ue = 2^32 - 1 needs 32 leading zeros: refused, not wrapped.
        let mut w = BitWriter::default();
        w.bits(0, 32).bits(1, 1).bits(0, 32);
        assert!(BitReader::new(&w.bytes).read_ue().is_err());
        // Reads past the end are errors.
        let mut r = BitReader::new(&[0x00]);
        assert!(r.read_ue().is_err());
        let mut r = BitReader::new(&[0xFF]);
        assert!(r.read_bits(9).is_err());
        assert_eq!(r.read_bits(8).unwrap(), 0xFF);
        assert!(r.read_bit().is_err());
        assert!(BitReader::new(&[]).read_se().is_err());
    }

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        assert_eq!(
            remove_emulation_prevention(&[0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03]),
            [0x00, 0x00, 0x01, 0x00, 0x00]
        );
        // 00 00 03 03: only the first 03 is emulation prevention.
        assert_eq!(
            remove_emulation_prevention(&[0x00, 0x00, 0x03, 0x03]),
            [0x00, 0x00, 0x03]
        );
        // After a removed 03 the zero count restarts: 00 00 03 00 00 03 → 00 00 00 00.
        assert_eq!(
            remove_emulation_prevention(&[0x00, 0x00, 0x03, 0x00, 0x00, 0x03]),
            [0x00, 0x00, 0x00, 0x00]
        );
        assert_eq!(remove_emulation_prevention(&[0x00, 0x03]), [0x00, 0x03]);
    }
}
