//! Huffman coding of quantised blocks into entropy-coded data, with `FF 00` byte stuffing
//! (T.81 B.1.1.5).

use super::tables::{HuffmanSpec, codes};

/// One component's DC and AC codes by symbol: (code, length).
pub struct Codes {
    dc: [(u16, u8); 256],
    ac: [(u16, u8); 256],
}

impl Codes {
    pub fn new(dc: &HuffmanSpec, ac: &HuffmanSpec) -> Self {
        Self {
            dc: codes(dc),
            ac: codes(ac),
        }
    }
}

/// Writes bits most significant first into `out`.
pub struct BitWriter {
    pub out: Vec<u8>,
    /// The pending bits are the low `pending` bits.
    acc: u64,
    pending: u32,
}

/// (length in bits, bits) of a coefficient's value as T.81 F.1.2.1 codes it: its magnitude
/// category, and for a negative value its one's complement.
fn magnitude(v: i32) -> (u32, u32) {
    let size = 32 - v.unsigned_abs().leading_zeros();
    let bits = if v < 0 { v - 1 } else { v } as u32 & ((1u32 << size) - 1);
    (size, bits)
}

impl BitWriter {
    pub fn new(out: Vec<u8>) -> Self {
        Self {
            out,
            acc: 0,
            pending: 0,
        }
    }

    /// Appends the low `len` bits of `bits` (`len` <= 32).
    #[inline(always)]
    fn put(&mut self, bits: u32, len: u32) {
        // pending < 32 and len <= 27 here (a 16-bit code and an 11-bit value): fits in 64.
        self.acc = (self.acc << len) | u64::from(bits);
        self.pending += len;
        if self.pending >= 32 {
            self.pending -= 32;
            let word = (self.acc >> self.pending) as u32;
            // No byte 0xFF in the word? (a byte's top bit stays set after + 1 unless it was
            // 0xFF, or 0xFE with a carry from a 0xFF below: false alarms only beside a 0xFF)
            if (word & 0x8080_8080 & !word.wrapping_add(0x0101_0101)) == 0 {
                self.out.extend_from_slice(&word.to_be_bytes());
            } else {
                for b in word.to_be_bytes() {
                    self.out.push(b);
                    if b == 0xFF {
                        self.out.push(0);
                    }
                }
            }
        }
    }

    /// Codes one block of quantised coefficients in zigzag order; `prev_dc` is the previous
    /// DC of the same component.
    #[inline(always)]
    pub fn block(&mut self, zz: &[i16; 64], prev_dc: i16, codes: &Codes) {
        let (size, bits) = magnitude(i32::from(zz[0]) - i32::from(prev_dc));
        let (code, len) = codes.dc[size as usize];
        self.put((u32::from(code) << size) | bits, u32::from(len) + size);
        // Bit k-1 set when coefficient k (1..=63) is not zero: runs of zeros are then found
        // with trailing_zeros instead of one test per coefficient.
        let mut nonzero = 0u64;
        for (k, &c) in zz.iter().enumerate().skip(1) {
            nonzero |= u64::from(c != 0) << (k - 1);
        }
        let mut k = 0; // index (1-based, minus 1) of the next coefficient to code
        while nonzero != 0 {
            let zeros = nonzero.trailing_zeros();
            let mut run = zeros;
            while run > 15 {
                let (code, len) = codes.ac[0xF0];
                self.put(u32::from(code), u32::from(len));
                run -= 16;
            }
            k += zeros as usize;
            let (size, bits) = magnitude(i32::from(zz[k + 1]));
            let (code, len) = codes.ac[(run << 4 | size) as usize];
            self.put((u32::from(code) << size) | bits, u32::from(len) + size);
            k += 1;
            nonzero = nonzero.checked_shr(zeros + 1).unwrap_or(0);
        }
        if k < 63 {
            let (code, len) = codes.ac[0x00];
            self.put(u32::from(code), u32::from(len));
        }
    }

    /// Pads the last byte with 1-bits (T.81 F.1.2.3) and returns the output.
    pub fn finish(mut self) -> Vec<u8> {
        let pad = (8 - self.pending % 8) % 8;
        self.acc = (self.acc << pad) | ((1u64 << pad) - 1);
        self.pending += pad;
        while self.pending > 0 {
            self.pending -= 8;
            let b = (self.acc >> self.pending) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitudes_follow_t81_table_f1() {
        assert_eq!(magnitude(0), (0, 0));
        assert_eq!(magnitude(1), (1, 1));
        assert_eq!(magnitude(-1), (1, 0));
        assert_eq!(magnitude(-3), (2, 0b00));
        assert_eq!(magnitude(-2), (2, 0b01));
        assert_eq!(magnitude(5), (3, 0b101));
        assert_eq!(magnitude(-1023), (10, 0));
        assert_eq!(magnitude(2047), (11, 0x7FF));
    }

    #[test]
    fn ff_bytes_are_stuffed_and_the_end_padded_with_ones() {
        let mut w = BitWriter::new(Vec::new());
        w.put(0xFFFF_FFFF, 32);
        w.put(0b101, 3);
        assert_eq!(
            w.finish(),
            [0xFF, 0, 0xFF, 0, 0xFF, 0, 0xFF, 0, 0b1011_1111]
        );
    }
}
