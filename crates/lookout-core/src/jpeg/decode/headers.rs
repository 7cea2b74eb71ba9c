//! A baseline JPEG's headers up to its first scan (ITU T.81 B.2): frame, quantisation and
//! Huffman tables, restart interval and the first scan's components, or why a reader of
//! baseline/extended sequential Huffman JPEGs (8-bit, 1 or 3 YCbCr components) cannot
//! decode it. Shared by the DC-only motion reader and the scaled colour decoder.

use super::huffman::Huffman;
use crate::Error;
use crate::jpeg::limits::MAX_SIDE;

/// A frame component (T.81 B.2.2).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Component {
    pub id: u8,
    /// Horizontal and vertical sampling factors, 1 to 4.
    pub h: u8,
    pub v: u8,
    /// Quantisation table, 0 to 3.
    pub quant: u8,
}

/// One component of the first scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanSpec {
    /// Index in [`Headers::comps`].
    pub index: usize,
    /// DC and AC Huffman tables, both present.
    pub dc: usize,
    pub ac: usize,
}

/// What the headers said, up to the first scan.
pub(crate) struct Headers {
    pub width: u32,
    pub height: u32,
    pub comps: Vec<Component>,
    /// Quantisation tables in zigzag order, as in the DQT segment.
    pub quant: [Option<[u16; 64]>; 4],
    pub dc_tables: [Option<Huffman>; 4],
    pub ac_tables: [Option<Huffman>; 4],
    /// MCUs between restart markers, 0 for none.
    pub restart_interval: usize,
    /// The first scan's components, in the scan's order.
    pub scan: Vec<ScanSpec>,
    /// Where the first scan's entropy-coded data starts.
    pub scan_start: usize,
}

impl Headers {
    /// The largest horizontal and vertical sampling factors: an MCU of an interleaved scan is
    /// 8 times these in pixels.
    pub fn max_sampling(&self) -> (usize, usize) {
        self.comps.iter().fold((1, 1), |(h, v), c| {
            (h.max(usize::from(c.h)), v.max(usize::from(c.v)))
        })
    }
}

/// What [`read`] made of a JPEG's headers.
pub(crate) enum Parsed {
    /// Boxed: the eight Huffman tables' look-up arrays make it about 42 KB.
    Supported(Box<Headers>),
    /// A valid-looking JPEG that these readers do not handle, and why.
    Unsupported(&'static str),
}

fn be16(d: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
    ])))
}

/// Reads a JPEG's headers up to its first scan.
pub(crate) fn read(data: &[u8]) -> Result<Parsed, Error> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err(Error::corrupt("not a JPEG (no SOI marker)"));
    }
    let truncated = || Error::corrupt("JPEG header cut short");
    let mut quant: [Option<[u16; 64]>; 4] = [None; 4];
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
                    let mut q = [0u16; 64];
                    for (k, q) in q.iter_mut().enumerate() {
                        *q = if precision == 0 {
                            u16::from(table[k])
                        } else {
                            u16::from_be_bytes([table[2 * k], table[2 * k + 1]])
                        };
                    }
                    quant[id] = Some(q);
                    rest = &rest[1 + size..];
                }
            }
            0xDD => restart_interval = be16(seg, 0).ok_or_else(truncated)?,
            // DAC: arithmetic-coding conditioning, so the scans are arithmetic-coded.
            0xCC => arithmetic = true,
            // APP14 "Adobe" with transform 0: three components that are RGB, not YCbCr.
            0xEE if seg.starts_with(b"Adobe") && seg.len() >= 12 => adobe_rgb = seg[11] == 0,
            0xDA => {
                let Some(frame) = frame else {
                    return Err(Error::corrupt("JPEG scan before its frame header"));
                };
                let why = frame.unsupported.or(if arithmetic {
                    Some("arithmetic-coded")
                } else if frame.comps.len() == 3 && (adobe_rgb || frame.comps[0].id == b'R') {
                    Some("RGB, not YCbCr")
                } else {
                    None
                });
                if let Some(why) = why {
                    return Ok(Parsed::Unsupported(why));
                }
                let Some(scan) = read_scan(&frame.comps, &dc_tables, &ac_tables, seg)? else {
                    return Ok(Parsed::Unsupported("not a sequential scan"));
                };
                return Ok(Parsed::Supported(Box::new(Headers {
                    width: frame.width,
                    height: frame.height,
                    comps: frame.comps,
                    quant,
                    dc_tables,
                    ac_tables,
                    restart_interval,
                    scan,
                    scan_start: next,
                })));
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

/// The components of a scan (T.81 B.2.3); `None` when it is not sequential (a progressive
/// scan's spectral selection or successive approximation).
fn read_scan(
    comps: &[Component],
    dc_tables: &[Option<Huffman>; 4],
    ac_tables: &[Option<Huffman>; 4],
    sos: &[u8],
) -> Result<Option<Vec<ScanSpec>>, Error> {
    let count = usize::from(
        *sos.first()
            .ok_or_else(|| Error::corrupt("empty JPEG scan"))?,
    );
    let spec = sos
        .get(1..1 + 2 * count + 3)
        .ok_or_else(|| Error::corrupt("JPEG scan header cut short"))?;
    if count == 0 || count > comps.len() {
        return Err(Error::corrupt("JPEG scan with a bad component count"));
    }
    if spec[2 * count..] != [0, 63, 0] {
        return Ok(None);
    }
    let mut scan = Vec::with_capacity(count);
    for c in spec[..2 * count].chunks(2) {
        let index = comps
            .iter()
            .position(|k| k.id == c[0])
            .ok_or_else(|| Error::corrupt("JPEG scan names an unknown component"))?;
        // Each once (T.81 B.2.3, as libjpeg checks): a scan that names one twice leaves
        // another out, and the decoders would take a chroma plane for luma.
        if scan.iter().any(|s: &ScanSpec| s.index == index) {
            return Err(Error::corrupt("JPEG scan names a component twice"));
        }
        let (dc, ac) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
        let (Some(Some(_)), Some(Some(_))) = (dc_tables.get(dc), ac_tables.get(ac)) else {
            return Err(Error::corrupt("JPEG scan uses a missing Huffman table"));
        };
        scan.push(ScanSpec { index, dc, ac });
    }
    Ok(Some(scan))
}
