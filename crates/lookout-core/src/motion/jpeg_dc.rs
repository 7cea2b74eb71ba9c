//! The picture at 1/8 scale straight from a baseline JPEG: the mean of each 8x8 luma block is
//! its DC coefficient (ITU T.81 A.3.3: mean = DC x quantiser / 8, + 128 for the level shift),
//! so Huffman-decoding the luma blocks, skipping their AC coefficients and the chroma blocks,
//! gives it with no IDCT, no upsampling and no colour conversion.
//!
//! The entropy decoding still reads every bit, and it is most of the cost of a JPEG decode:
//! see docs/performance.md for this against zune-jpeg's full luma decode and libjpeg-turbo at
//! 1/8 scale.
//!
//! Baseline and extended sequential Huffman JPEGs with 8-bit samples, 1 or 3 components, luma
//! at full resolution and in the first scan are read here: what cameras and encoders send.
//! Anything else (progressive, arithmetic, lossless, 12-bit, CMYK, Adobe RGB) is reported as
//! unsupported, for a full decode to handle. Damaged data is an error, never a panic; work is
//! bounded by the header's size (at most [`crate::jpeg::MAX_SIDE`] a side).

use super::gray_image::GrayImage;
use crate::Error;
use crate::jpeg::MAX_SIDE;

/// What [`decode`] made of a JPEG.
#[derive(Debug)]
pub enum DcLuma {
    /// The 8x8 block means: `ceil(width / 8)` x `ceil(height / 8)` pixels.
    Decoded {
        image: GrayImage,
        width: u32,
        height: u32,
    },
    /// A valid-looking JPEG this reader does not handle, and why.
    Unsupported(&'static str),
}

/// Bits of a code looked up in one step; longer codes (rare: they are the rare symbols) take
/// the slow path. 9 bits is libjpeg's choice too, and the 1 KB table stays in L1.
const LOOKAHEAD: u32 = 9;

/// Bits looked up at once to skip an AC coefficient: its code and its value bits together.
const SKIP_LOOKAHEAD: u32 = 10;

/// A Huffman table (T.81 C and F.2.2.3), decoding MSB-first codes of 1 to 16 bits.
struct Huffman {
    /// Indexed by the next `LOOKAHEAD` bits: `length << 8 | symbol`, or 0 for a longer code.
    fast: [u16; 1 << LOOKAHEAD],
    /// For AC tables, indexed by the next `SKIP_LOOKAHEAD` bits: the bits to skip for the next
    /// coefficient, code and value (1 to 10) `| positions to advance << 8` (run + 1, 16 for
    /// sixteen zeros, 0 for the end of the block); 0 when code and value are longer.
    skip: [u16; 1 << SKIP_LOOKAHEAD],
    /// Largest code of each length (index 1..=16), -1 when there is none.
    max_code: [i32; 17],
    /// Index in `symbols` of a code of each length, minus that code.
    offset: [i32; 17],
    symbols: Vec<u8>,
}

impl Huffman {
    /// From a DHT table: counts of codes of each length 1..=16, then the symbols.
    fn new(counts: &[u8; 16], symbols: &[u8]) -> Result<Self, Error> {
        let mut table = Self {
            fast: [0; 1 << LOOKAHEAD],
            skip: [0; 1 << SKIP_LOOKAHEAD],
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
struct BitReader<'a> {
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
    fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            buf: 0,
            bits: 0,
            fake: 0,
            at_marker: false,
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
    fn overran(&self) -> bool {
        self.fake > self.bits
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        // n <= 16 and bits >= 32 when called (see `decode_block`).
        self.buf <<= n;
        self.bits -= n;
    }

    /// The next Huffman symbol; needs at least 16 bits in `buf`.
    #[inline]
    fn symbol(&mut self, table: &Huffman) -> Result<u8, Error> {
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
    fn signed(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        let v = (self.buf >> (64 - n)) as i32;
        self.consume(n);
        if v < 1 << (n - 1) {
            v - (1 << n) + 1
        } else {
            v
        }
    }

    /// Skips the rest of the data up to and past a restart marker, and empties `buf`.
    fn restart(&mut self) -> Result<(), Error> {
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
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
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
}

#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: u8,
    v: u8,
    quant: u8,
}

fn be16(d: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
    ])))
}

/// One component of a scan: its blocks per MCU, its tables, its DC prediction.
struct ScanComponent<'t> {
    index: usize,
    h: usize,
    v: usize,
    dc: &'t Huffman,
    ac: &'t Huffman,
    pred: i32,
}

/// Decodes one block's coefficients, returning its DC value (prediction applied).
#[inline]
fn decode_block(bits: &mut BitReader<'_>, comp: &mut ScanComponent<'_>) -> Result<i32, Error> {
    // A DC symbol (<= 16 bits) and its value (<= 16 bits): 32 bits cover both.
    if bits.bits < 32 {
        bits.refill();
    }
    let size = u32::from(bits.symbol(comp.dc)?);
    if size > 16 {
        return Err(Error::corrupt("JPEG DC difference out of range"));
    }
    comp.pred = comp.pred.wrapping_add(bits.signed(size));
    let mut k = 1;
    while k < 64 {
        // An AC symbol (<= 16 bits) and its value (<= 15 bits).
        if bits.bits < 32 {
            bits.refill();
        }
        let skip = comp.ac.skip[(bits.buf >> (64 - SKIP_LOOKAHEAD)) as usize];
        if skip != 0 {
            bits.consume(u32::from(skip & 0xFF));
            match skip >> 8 {
                0 => break, // end of block
                advance => k += usize::from(advance),
            }
            continue;
        }
        let rs = bits.symbol(comp.ac)?;
        let (run, size) = (rs >> 4, u32::from(rs & 15));
        if size == 0 {
            if run != 15 {
                break; // end of block
            }
            k += 16;
        } else {
            k += usize::from(run) + 1;
            bits.consume(size); // the coefficient itself: not needed
        }
    }
    Ok(comp.pred)
}

/// What the headers said, for the first scan.
struct Headers<'h> {
    width: u32,
    height: u32,
    comps: &'h [Component],
    quant: &'h [Option<u16>; 4],
    dc_tables: &'h [Option<Huffman>; 4],
    ac_tables: &'h [Option<Huffman>; 4],
    restart_interval: usize,
}

/// Reads a JPEG's headers and, when it is a kind this module handles, its luma block means.
pub fn decode(data: &[u8]) -> Result<DcLuma, Error> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err(Error::corrupt("not a JPEG (no SOI marker)"));
    }
    let truncated = || Error::corrupt("JPEG header cut short");
    let mut quant: [Option<u16>; 4] = [None; 4];
    let mut dc_tables: [Option<Huffman>; 4] = [None, None, None, None];
    let mut ac_tables: [Option<Huffman>; 4] = [None, None, None, None];
    let mut frame: Option<FrameHeader> = None;
    let mut adobe_rgb = false;
    let mut arithmetic = false;
    let mut restart_interval = 0usize;
    let mut pos = 2;
    loop {
        if data.get(pos) != Some(&0xFF) {
            return Err(Error::corrupt("expected a marker between JPEG segments"));
        }
        let marker = *data.get(pos + 1).ok_or_else(truncated)?;
        match marker {
            0xFF => {
                pos += 1; // fill byte
                continue;
            }
            0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            0xD8 | 0xD9 | 0x00 => {
                return Err(Error::corrupt(
                    "unexpected marker before the JPEG image data",
                ));
            }
            _ => {}
        }
        let len = be16(data, pos + 2).ok_or_else(truncated)?;
        if len < 2 {
            return Err(Error::corrupt("JPEG segment length below 2"));
        }
        let seg = data.get(pos + 4..pos + 2 + len).ok_or_else(truncated)?;
        let next = pos + 2 + len;
        match marker {
            // Start of frame: baseline and extended sequential are Huffman-coded (C0, C1), the
            // others progressive, lossless or arithmetic-coded.
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                if frame.is_some() {
                    return Err(Error::corrupt("two JPEG frame headers"));
                }
                frame = Some(read_frame(marker, seg)?);
            }
            0xC4 => read_huffman_tables(seg, &mut dc_tables, &mut ac_tables)?,
            0xDB => {
                let mut rest = seg;
                while let Some(&pq_tq) = rest.first() {
                    let (precision, id) = (pq_tq >> 4, usize::from(pq_tq & 15));
                    let size = if precision == 0 { 64 } else { 128 };
                    let table = rest.get(1..1 + size).ok_or_else(truncated)?;
                    if precision > 1 || id > 3 {
                        return Err(Error::corrupt("bad JPEG quantisation table"));
                    }
                    // Only the DC quantiser matters here: entry 0 in any order.
                    quant[id] = Some(if precision == 0 {
                        u16::from(table[0])
                    } else {
                        u16::from_be_bytes([table[0], table[1]])
                    });
                    rest = &rest[1 + size..];
                }
            }
            0xDD => restart_interval = be16(seg, 0).ok_or_else(truncated)?,
            // DAC: arithmetic-coding conditioning, so the scans are arithmetic-coded.
            0xCC => arithmetic = true,
            // APP14 "Adobe" with transform 0: three components that are RGB, not YCbCr.
            0xEE if seg.starts_with(b"Adobe") && seg.len() >= 12 => adobe_rgb = seg[11] == 0,
            0xDA => {
                let Some(FrameHeader {
                    width,
                    height,
                    comps,
                    unsupported,
                }) = frame.as_ref()
                else {
                    return Err(Error::corrupt("JPEG scan before its frame header"));
                };
                let (width, height) = (*width, *height);
                let why = unsupported.or(if arithmetic {
                    Some("arithmetic-coded")
                } else if comps.len() == 3 && (adobe_rgb || comps[0].id == b'R') {
                    Some("RGB, not YCbCr")
                } else {
                    None
                });
                if let Some(why) = why {
                    return Ok(DcLuma::Unsupported(why));
                }
                let headers = Headers {
                    width,
                    height,
                    comps,
                    quant: &quant,
                    dc_tables: &dc_tables,
                    ac_tables: &ac_tables,
                    restart_interval,
                };
                return decode_scan(data, next, seg, &headers);
            }
            _ => {} // APPn, COM, DNL and others: nothing for us
        }
        pos = next;
    }
}

/// A SOFn segment.
struct FrameHeader {
    width: u32,
    height: u32,
    comps: Vec<Component>,
    /// Why this reader cannot decode the frame, if it cannot.
    unsupported: Option<&'static str>,
}

fn read_frame(marker: u8, seg: &[u8]) -> Result<FrameHeader, Error> {
    let truncated = || Error::corrupt("JPEG frame header cut short");
    let height = be16(seg, 1).ok_or_else(truncated)? as u32;
    let width = be16(seg, 3).ok_or_else(truncated)? as u32;
    let count = usize::from(*seg.get(5).ok_or_else(truncated)?);
    if width == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::corrupt(format!(
            "JPEG of {width}x{height}: sides must be 1..={MAX_SIDE}"
        )));
    }
    let mut comps = Vec::with_capacity(count);
    for c in seg.get(6..6 + 3 * count).ok_or_else(truncated)?.chunks(3) {
        let (h, v) = (c[1] >> 4, c[1] & 15);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || c[2] > 3 {
            return Err(Error::corrupt("JPEG component with a bad sampling factor"));
        }
        comps.push(Component {
            id: c[0],
            h,
            v,
            quant: c[2],
        });
    }
    let (hmax, vmax) = comps
        .iter()
        .fold((1, 1), |(h, v), c| (c.h.max(h), c.v.max(v)));
    let unsupported = if !matches!(marker, 0xC0 | 0xC1) {
        Some("progressive, lossless or arithmetic-coded")
    } else if seg[0] != 8 {
        Some("not 8-bit samples")
    } else if height == 0 {
        // The height comes later, in a DNL segment: cameras do not do this.
        Some("height given in a DNL segment")
    } else if count != 1 && count != 3 {
        Some("neither 1 nor 3 components")
    } else if count > 1 && (comps[0].h != hmax || comps[0].v != vmax) {
        Some("luma subsampled")
    } else {
        None
    };
    Ok(FrameHeader {
        width,
        height,
        comps,
        unsupported,
    })
}

fn read_huffman_tables(
    seg: &[u8],
    dc_tables: &mut [Option<Huffman>; 4],
    ac_tables: &mut [Option<Huffman>; 4],
) -> Result<(), Error> {
    let mut rest = seg;
    while let Some(&tc_th) = rest.first() {
        let (class, id) = (tc_th >> 4, usize::from(tc_th & 15));
        let counts: &[u8; 16] = rest
            .get(1..17)
            .and_then(|c| c.try_into().ok())
            .ok_or_else(|| Error::corrupt("JPEG Huffman table cut short"))?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let symbols = rest
            .get(17..17 + total)
            .ok_or_else(|| Error::corrupt("JPEG Huffman table cut short"))?;
        if class > 1 || id > 3 || total > 256 {
            return Err(Error::corrupt("bad JPEG Huffman table"));
        }
        let table = Huffman::new(counts, symbols)?;
        if class == 0 {
            dc_tables[id] = Some(table);
        } else {
            ac_tables[id] = Some(table);
        }
        rest = &rest[17 + total..];
    }
    Ok(())
}

fn decode_scan(data: &[u8], start: usize, sos: &[u8], f: &Headers<'_>) -> Result<DcLuma, Error> {
    let (width, height) = (f.width, f.height);
    let count = usize::from(
        *sos.first()
            .ok_or_else(|| Error::corrupt("empty JPEG scan"))?,
    );
    let spec = sos
        .get(1..1 + 2 * count + 3)
        .ok_or_else(|| Error::corrupt("JPEG scan header cut short"))?;
    if count == 0 || count > f.comps.len() {
        return Err(Error::corrupt("JPEG scan with a bad component count"));
    }
    if spec[2 * count..] != [0, 63, 0] {
        return Ok(DcLuma::Unsupported("not a sequential scan"));
    }
    let mut scan = Vec::with_capacity(count);
    for c in spec[..2 * count].chunks(2) {
        let index = f
            .comps
            .iter()
            .position(|k| k.id == c[0])
            .ok_or_else(|| Error::corrupt("JPEG scan names an unknown component"))?;
        let (dc, ac) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
        let (Some(Some(dc)), Some(Some(ac))) = (f.dc_tables.get(dc), f.ac_tables.get(ac)) else {
            return Err(Error::corrupt("JPEG scan uses a missing Huffman table"));
        };
        scan.push(ScanComponent {
            index,
            // A scan of one component codes its blocks one by one (T.81 A.2.2).
            h: if count == 1 {
                1
            } else {
                usize::from(f.comps[index].h)
            },
            v: if count == 1 {
                1
            } else {
                usize::from(f.comps[index].v)
            },
            dc,
            ac,
            pred: 0,
        });
    }
    if !scan.iter().any(|c| c.index == 0) {
        return Ok(DcLuma::Unsupported("luma not in the first scan"));
    }
    let q = f.quant[usize::from(f.comps[0].quant)]
        .ok_or_else(|| Error::corrupt("JPEG luma quantisation table missing"))?;
    let (bw, bh) = (width.div_ceil(8) as usize, height.div_ceil(8) as usize);
    let (mcu_w, mcu_h) = if count == 1 {
        (8, 8)
    } else {
        let hmax = f.comps.iter().map(|c| usize::from(c.h)).max().unwrap_or(1);
        let vmax = f.comps.iter().map(|c| usize::from(c.v)).max().unwrap_or(1);
        (8 * hmax, 8 * vmax)
    };
    let (mcus_x, mcus_y) = (
        (width as usize).div_ceil(mcu_w),
        (height as usize).div_ceil(mcu_h),
    );
    // Block mean: DC x q / 8, plus 128 for the level shift (T.81 A.3.1, A.3.3).
    let level = |pred: i32| ((i64::from(pred) * i64::from(q) + 4) >> 3).clamp(-128, 127) + 128;
    let mut out = vec![0u8; bw * bh];
    let mut bits = BitReader::new(data, start);
    let mut mcus_left = f.restart_interval;
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            if f.restart_interval > 0 {
                if mcus_left == 0 {
                    bits.restart()?;
                    scan.iter_mut().for_each(|c| c.pred = 0);
                    mcus_left = f.restart_interval;
                }
                mcus_left -= 1;
            }
            for comp in scan.iter_mut() {
                for v in 0..comp.v {
                    for h in 0..comp.h {
                        let dc = decode_block(&mut bits, comp)?;
                        if comp.index == 0 {
                            let (x, y) = (mx * comp.h + h, my * comp.v + v);
                            if x < bw && y < bh {
                                out[y * bw + x] = level(dc) as u8;
                            }
                        }
                    }
                }
            }
        }
        // Once a row: damaged data is found early instead of decoding zeros to the bottom.
        if bits.overran() {
            return Err(Error::corrupt("JPEG image data cut short"));
        }
    }
    let image = GrayImage::from_raw(bw as u32, bh as u32, out)
        .ok_or_else(|| Error::internal("DC image of the wrong size"))?;
    Ok(DcLuma::Decoded {
        image,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RgbImage;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    fn scene(width: u32, height: u32) -> RgbImage {
        let mut img = RgbImage::new(width, height);
        for y in 0..height {
            for x in 0..width {
                let i = (y * width + x) as usize * 3;
                let v = ((x * 7 + y * 3) % 256) as u8;
                img.data[i..i + 3].copy_from_slice(&[v, 255 - v, (x % 64 * 4) as u8]);
            }
        }
        img.fill_rect(30, 20, 40, 30, [250, 240, 10]);
        img
    }

    fn encode(
        img: &RgbImage,
        color: ColorType,
        sampling: SamplingFactor,
        setup: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out, 90);
        enc.set_sampling_factor(sampling);
        setup(&mut enc);
        let data: Vec<u8> = if color == ColorType::Luma {
            img.data
                .chunks(3)
                .map(|p| {
                    ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128)
                        >> 8) as u8
                })
                .collect()
        } else {
            img.data.clone()
        };
        enc.encode(&data, img.width as u16, img.height as u16, color)
            .expect("encode");
        out
    }

    /// The block means of the fully decoded luma: what the DC image must match.
    /// The 8x8 block means of the source picture's luma: what the DC image must match.
    fn reference(img: &RgbImage) -> GrayImage {
        super::super::gray::box_reduce(&to_gray(img), 8)
    }

    fn to_gray(img: &RgbImage) -> GrayImage {
        let luma = img
            .data
            .chunks(3)
            .map(|p| {
                ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128) >> 8)
                    as u8
            })
            .collect();
        GrayImage::from_raw(img.width, img.height, luma).expect("size")
    }

    /// Decodes `jpeg` (made from `img`) and compares the whole blocks with `img`'s means. Not
    /// with a full decode: zune-jpeg 0.5.15 decodes non-interleaved 4:2:0 scans wrong
    /// (zune-image issue 422), and this reader gets them right.
    fn assert_close(jpeg: &[u8], img: &RgbImage, what: &str) {
        let DcLuma::Decoded { image, .. } = decode(jpeg).expect(what) else {
            panic!("{what}: unsupported");
        };
        let want = reference(img);
        assert_eq!(
            (image.width(), image.height()),
            (want.width(), want.height()),
            "{what}"
        );
        // Partial blocks at the right and bottom edges hold the encoder's padding: skip them.
        let (full_w, full_h) = (img.width / 8, img.height / 8);
        let mut worst = 0;
        for y in 0..full_h {
            for x in 0..full_w {
                worst = worst.max(image.pixel(x, y).abs_diff(want.pixel(x, y)));
            }
        }
        // Quantisation of the DC at quality 90 and the encoder's own RGB to YCbCr: 2 levels.
        assert!(worst <= 2, "{what}: worst block differs by {worst}");
    }

    #[test]
    fn dc_means_match_the_source_for_every_subsampling() {
        let img = scene(131, 77); // not a multiple of 8 or 16
        for (name, sampling) in [
            ("4:2:0", SamplingFactor::R_4_2_0),
            ("4:2:2", SamplingFactor::R_4_2_2),
            ("4:4:4", SamplingFactor::R_4_4_4),
            ("4:4:0", SamplingFactor::R_4_4_0),
        ] {
            assert_close(&encode(&img, ColorType::Rgb, sampling, |_| {}), &img, name);
        }
    }

    #[test]
    fn grayscale_restarts_and_optimised_tables_decode() {
        let img = scene(200, 120);
        let gray = encode(&img, ColorType::Luma, SamplingFactor::R_4_4_4, |_| {});
        assert_close(&gray, &img, "grayscale");
        let rst = encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |e| {
            e.set_restart_interval(3)
        });
        assert_close(&rst, &img, "restart interval 3");
        let opt = encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |e| {
            e.set_optimized_huffman_tables(true)
        });
        assert_close(
            &opt,
            &img,
            "optimised Huffman tables: one scan per component",
        );
    }

    #[test]
    fn progressive_is_unsupported_and_says_so() {
        let img = scene(64, 48);
        let prog = encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |e| {
            e.set_progressive(true)
        });
        match decode(&prog).expect("valid JPEG") {
            DcLuma::Unsupported(why) => assert!(why.contains("progressive"), "{why}"),
            DcLuma::Decoded { .. } => panic!("progressive decoded as baseline"),
        }
    }

    #[test]
    fn cut_short_and_garbage_are_errors() {
        let img = scene(160, 96);
        let jpeg = encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |_| {});
        assert!(decode(&jpeg[..jpeg.len() / 2]).is_err(), "half a JPEG");
        assert!(decode(b"not a jpeg at all").is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF]).is_err());
        assert!(decode(&[]).is_err());
    }

    #[test]
    fn overfull_huffman_table_is_an_error_not_a_panic() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes
        assert!(Huffman::new(&counts, &[1, 2, 3]).is_err());
        counts[0] = 2;
        assert!(
            Huffman::new(&counts, &[1]).is_err(),
            "fewer symbols than codes"
        );
        assert!(Huffman::new(&counts, &[1, 2]).is_ok());
    }

    /// A fuzzer in miniature, as tests/mutated_jpegs.rs does for the full decoder: thousands
    /// of damaged JPEGs of every layout this reader handles give errors or pictures, never a
    /// panic (overflow checks are on in test builds), and the reduction behind it neither.
    #[test]
    fn mutated_jpegs_never_panic() {
        let img = scene(72, 40);
        let bases = [
            encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |e| {
                e.set_restart_interval(2)
            }),
            encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_2, |e| {
                e.set_optimized_huffman_tables(true)
            }),
            encode(&img, ColorType::Luma, SamplingFactor::R_4_4_4, |_| {}),
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let mut decoded = 0;
        for base in &bases {
            for _ in 0..1500 {
                let mut d = base.clone();
                for _ in 0..1 + next(4) {
                    let i = next(d.len());
                    match next(4) {
                        0 => d[i] ^= 1 << next(8),
                        1 => d[i] = [0x00, 0xFF, 0xD0, 0xD9, 0xDA, 0xC4, 0xDD][next(7)],
                        2 => d.truncate(i.max(2)),
                        _ => d[i] = next(256) as u8,
                    }
                }
                if decode(&d).is_ok() {
                    decoded += 1;
                }
                let _ = super::super::gray::reduce_jpeg(&d, 16);
            }
        }
        // Many mutations land in entropy data and still decode to something: the test reached
        // the decoder, not only the header checks.
        assert!(decoded > 500, "{decoded}");
    }
}
