//! Huffman decoding of baseline JPEG entropy-coded data (ITU T.81 C, F.2.2): the tables, a
//! bit reader that removes byte stuffing and stops at markers, and the per-coefficient steps
//! both the DC-only motion reader and the scaled colour decoder use.

use crate::Error;

/// `v`, the `n` (1 to 16) bits after a Huffman code, as the signed value they stand for
/// (T.81 F.2.2.1 EXTEND): below half the range are the negative values.
#[inline]
fn extend(v: i32, n: u32) -> i32 {
    if v < 1 << (n - 1) {
        v - (1 << n) + 1
    } else {
        v
    }
}

/// Bits of a code looked up in one step; longer codes (rare: they are the rare symbols) take
/// the slow path. 9 bits is libjpeg's choice too, and the 1 KB table stays in L1.
const LOOKAHEAD: u32 = 9;

/// Bits looked up at once to skip an AC coefficient: its code and its value bits together.
const SKIP_LOOKAHEAD: u32 = 10;

/// A Huffman table (T.81 C and F.2.2.3), decoding MSB-first codes of 1 to 16 bits.
pub(crate) struct Huffman {
    /// Indexed by the next `LOOKAHEAD` bits: `length << 8 | symbol`, or 0 for a longer code.
    fast: [u16; 1 << LOOKAHEAD],
    /// For AC tables, indexed by the next `SKIP_LOOKAHEAD` bits: the bits to skip for the next
    /// coefficient, code and value (1 to 10) `| positions to advance << 8` (run + 1, 16 for
    /// sixteen zeros, 0 for the end of the block); 0 when code and value are longer.
    skip: [u16; 1 << SKIP_LOOKAHEAD],
    /// Beside `skip`: the coefficient's value (T.81 F.2.2.1 EXTEND done), 0 for none.
    value: [i16; 1 << SKIP_LOOKAHEAD],
    /// Largest code of each length (index 1..=16), -1 when there is none.
    max_code: [i32; 17],
    /// Index in `symbols` of a code of each length, minus that code.
    offset: [i32; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    /// From a DHT table: counts of codes of each length 1..=16, then the symbols.
    pub(crate) fn new(counts: &[u8; 16], symbols: &[u8]) -> Result<Self, Error> {
        let mut table = Self {
            fast: [0; 1 << LOOKAHEAD],
            skip: [0; 1 << SKIP_LOOKAHEAD],
            value: [0; 1 << SKIP_LOOKAHEAD],
            max_code: [-1; 17],
            offset: [0; 17],
            symbols: symbols.to_vec(),
        };
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let count = usize::from(counts[len as usize - 1]);
            table.offset[len as usize] = k as i32 - code as i32;
            for _ in 0..count {
                // T.81 C: the codes of one length must fit in it.
                if code >= 1 << len {
                    return Err(Error::corrupt("JPEG Huffman table has too many codes"));
                }
                let symbol = u16::from(*symbols.get(k).ok_or_else(|| {
                    Error::corrupt("JPEG Huffman table has fewer symbols than codes")
                })?);
                if len <= LOOKAHEAD {
                    let shift = LOOKAHEAD - len;
                    let first = (code << shift) as usize;
                    let last = ((code + 1) << shift) as usize;
                    table.fast[first..last].fill((len as u16) << 8 | symbol);
                }
                // Read as an AC symbol: run of zeros (high nibble), value bits (low nibble).
                let (run, size) = (u32::from(symbol >> 4), u32::from(symbol & 15));
                let advance = match (run, size) {
                    (15, 0) => 16,
                    (_, 0) => 0,
                    _ => run + 1,
                };
                if len + size <= SKIP_LOOKAHEAD {
                    let shift = SKIP_LOOKAHEAD - len;
                    let first = (code << shift) as usize;
                    let last = ((code + 1) << shift) as usize;
                    table.skip[first..last].fill((advance << 8 | (len + size)) as u16);
                    if size > 0 {
                        let value_shift = SKIP_LOOKAHEAD - len - size;
                        for (i, v) in table.value[first..last].iter_mut().enumerate() {
                            let raw = (((first + i) >> value_shift) & ((1 << size) - 1)) as i32;
                            *v = extend(raw, size) as i16;
                        }
                    }
                }
                code += 1;
                k += 1;
            }
            if count > 0 {
                table.max_code[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Ok(table)
    }
}

/// Reads entropy-coded data MSB first, removing stuffed zero bytes (T.81 B.1.1.5). At a marker
/// or the end of the data it feeds zero bits, and counts them, so running past the data is
/// noticed without checking every read.
/// MCUs left before the next restart marker ([`BitReader::before_mcu`]).
pub(crate) struct RestartCountdown {
    interval: usize,
    left: usize,
}

impl RestartCountdown {
    /// For a scan with `interval` MCUs between markers (0: none).
    pub(crate) fn new(interval: usize) -> Self {
        Self {
            interval,
            left: interval,
        }
    }
}

pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// The next bits, left-aligned.
    buf: u64,
    bits: u32,
    /// Zero bits appended after the real data ended, still in `buf` or consumed.
    fake: u32,
    at_marker: bool,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            buf: 0,
            bits: 0,
            fake: 0,
            at_marker: false,
        }
    }

    /// Makes sure `buf` holds at least 32 bits: a Huffman code (<= 16) and its value (<= 16).
    #[inline]
    pub(crate) fn need_32(&mut self) {
        if self.bits < 32 {
            self.refill();
        }
    }

    /// Fills `buf` to at least 57 bits.
    #[inline]
    fn refill(&mut self) {
        // Fast path: the next 8 bytes hold no FF (no stuffing, no marker), so whole bytes go
        // in at once. In entropy data FF is about 1 byte in 256, so this is the common case.
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let v = u64::from_be_bytes(word);
            // A zero byte in !v is an FF in v (the classic "has zero byte" bit trick).
            let inverted = !v;
            let has_ff =
                inverted.wrapping_sub(0x0101_0101_0101_0101) & !inverted & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                let bytes = (64 - self.bits) / 8; // 1 to 8, as bits <= 56 here
                let taken = v >> (64 - 8 * bytes);
                self.buf |= taken << (64 - 8 * bytes - self.bits);
                self.bits += 8 * bytes;
                self.pos += bytes as usize;
                return;
            }
        }
        while self.bits <= 56 {
            let mut byte = 0u8;
            if self.at_marker {
                self.fake += 8;
            } else {
                match self.data.get(self.pos) {
                    Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0x00) => {
                        byte = 0xFF;
                        self.pos += 2;
                    }
                    Some(&0xFF) | None => {
                        self.at_marker = true;
                        self.fake += 8;
                    }
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                }
            }
            self.buf |= u64::from(byte) << (56 - self.bits);
            self.bits += 8;
        }
    }

    /// Whether bits past the end of the data were used: the scan is cut short or damaged.
    pub(crate) fn overran(&self) -> bool {
        self.fake > self.bits
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        // n <= 16 and bits >= 32 when called (after `need_32`).
        self.buf <<= n;
        self.bits -= n;
    }

    /// The next Huffman symbol; needs at least 16 bits in `buf`.
    #[inline]
    pub(crate) fn symbol(&mut self, table: &Huffman) -> Result<u8, Error> {
        let entry = table.fast[(self.buf >> (64 - LOOKAHEAD)) as usize];
        if entry != 0 {
            self.consume(u32::from(entry >> 8));
            return Ok(entry as u8);
        }
        let peek = (self.buf >> 48) as i32; // 16 bits
        for len in LOOKAHEAD + 1..=16 {
            let code = peek >> (16 - len);
            if code <= table.max_code[len as usize] {
                self.consume(len);
                let index = table.offset[len as usize] + code;
                return usize::try_from(index)
                    .ok()
                    .and_then(|i| table.symbols.get(i))
                    .copied()
                    .ok_or_else(|| Error::corrupt("JPEG Huffman code without a symbol"));
            }
        }
        Err(Error::corrupt("invalid JPEG Huffman code"))
    }

    /// `n` (0 to 16) raw bits as a signed value (T.81 F.2.2.1 EXTEND).
    #[inline]
    pub(crate) fn signed(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        let v = (self.buf >> (64 - n)) as i32;
        self.consume(n);
        extend(v, n)
    }

    /// The next AC coefficient in one look-up, when its code and value fit in
    /// `SKIP_LOOKAHEAD` bits (most do): the positions to advance (run + 1; 16 for sixteen
    /// zeros, 0 for the end of the block) and its value. `None`: take [`Self::symbol`] and
    /// [`Self::signed`]. Needs 16 bits in `buf` (after `need_32`).
    #[inline]
    pub(crate) fn fast_ac(&mut self, ac: &Huffman) -> Option<(usize, i32)> {
        let i = (self.buf >> (64 - SKIP_LOOKAHEAD)) as usize;
        let skip = ac.skip[i];
        if skip == 0 {
            return None;
        }
        self.consume(u32::from(skip & 0xFF));
        Some((usize::from(skip >> 8), i32::from(ac.value[i])))
    }

    /// Skips the rest of the data up to and past a restart marker, and empties `buf`.
    pub(crate) fn restart(&mut self) -> Result<(), Error> {
        if self.overran() {
            return Err(Error::corrupt("JPEG data ends inside a restart interval"));
        }
        self.buf = 0;
        self.bits = 0;
        self.fake = 0;
        self.at_marker = false;
        // In a valid stream only padding bits (already read) precede the marker; stray bytes
        // are skipped as libjpeg does, but another marker is damage.
        while let Some(off) = self
            .data
            .get(self.pos..)
            .and_then(|rest| memchr::memchr(0xFF, rest))
        {
            let at = self.pos + off;
            match self.data.get(at + 1) {
                Some(0xD0..=0xD7) => {
                    self.pos = at + 2;
                    return Ok(());
                }
                Some(0x00 | 0xFF) => self.pos = at + 1,
                _ => break,
            }
        }
        Err(Error::corrupt("JPEG restart marker missing"))
    }

    /// Before each MCU of a scan with restart intervals (`DRI`, T.81 B.2.4.4): every
    /// `countdown.interval` MCUs the data has an RSTn marker, read here. Returns whether one was,
    /// so the caller starts its DC predictions again from 0.
    #[inline]
    pub(crate) fn before_mcu(&mut self, countdown: &mut RestartCountdown) -> Result<bool, Error> {
        if countdown.interval == 0 {
            return Ok(false);
        }
        let restarted = countdown.left == 0;
        if restarted {
            self.restart()?;
            countdown.left = countdown.interval;
        }
        countdown.left -= 1;
        Ok(restarted)
    }

    /// A block's DC difference (T.81 F.2.2.1), to add to the component's prediction.
    #[inline]
    pub(crate) fn dc_diff(&mut self, dc: &Huffman) -> Result<i32, Error> {
        self.need_32();
        let size = u32::from(self.symbol(dc)?);
        if size > 16 {
            return Err(Error::corrupt("JPEG DC difference out of range"));
        }
        Ok(self.signed(size))
    }

    /// Reads past a block's AC coefficients from zigzag position `k` (1 to 63) to its end,
    /// without their values: mostly one table look-up per coefficient, code and value at once.
    #[inline]
    pub(crate) fn skip_ac(&mut self, ac: &Huffman, mut k: usize) -> Result<(), Error> {
        while k < 64 {
            // An AC symbol (<= 16 bits) and its value (<= 15 bits).
            self.need_32();
            let skip = ac.skip[(self.buf >> (64 - SKIP_LOOKAHEAD)) as usize];
            if skip != 0 {
                self.consume(u32::from(skip & 0xFF));
                match skip >> 8 {
                    0 => break, // end of block
                    advance => k += usize::from(advance),
                }
                continue;
            }
            let rs = self.symbol(ac)?;
            let (run, size) = (rs >> 4, u32::from(rs & 15));
            if size == 0 {
                if run != 15 {
                    break; // end of block
                }
                k += 16;
            } else {
                k += usize::from(run) + 1;
                self.consume(size); // the coefficient itself: not needed
            }
        }
        Ok(())
    }
}
