//! Annex B byte streams (H.264 Annex B): NAL units separated by start codes `00 00 01` or
//! `00 00 00 01`, as `ffmpeg -f h264`, `rpicam-vid --codec h264` and hardware encoders write.
//!
//! [`AnnexBSplitter`] works on a stream that arrives in chunks of any size (a pipe): push
//! bytes, pull complete NAL units. A NAL unit ends where `00 00 00` or `00 00 01` begins
//! (B.2; emulation prevention keeps both out of NAL units, 7.4.1), so the last one is held
//! until the next start code arrives (or [`AnnexBSplitter::finish`] at the end of the stream).
//! Memory is bounded: a NAL unit larger than the stated maximum is dropped with an error and
//! the splitter resynchronises at the next start code; zero padding is never kept.

use crate::Error;
use bytes::{Buf, Bytes, BytesMut};

/// Where `00 00 01`, or with `or_000` also `00 00 00`, starts in `data[from..]`, as an index
/// into `data`.
///
/// Checks every third byte first (the trick of x264 and ffmpeg): if `data[i + 2] > 1`, no
/// such pattern begins at `i`, `i + 1` or `i + 2`.
fn find_zero_zero(data: &[u8], from: usize, or_000: bool) -> Option<usize> {
    let mut i = from;
    while i + 2 < data.len() {
        let b = data[i + 2];
        if b > 1 {
            i += 3;
        } else if data[i] == 0 && data[i + 1] == 0 && (b == 1 || or_000) {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

/// Where the next start code `00 00 01` begins.
fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    find_zero_zero(data, from, false)
}

/// Where the NAL unit at the start of `data` ends: at `00 00 00` (zero padding, or the
/// `zero_byte` of a 4-byte start code) or `00 00 01`.
fn find_nal_end(data: &[u8], from: usize) -> Option<usize> {
    find_zero_zero(data, from, true)
}

/// The length of `nal` without trailing zero bytes, which are never part of a NAL unit: its
/// last byte holds the rbsp stop bit, or is the `03` of a `cabac_zero_word` (7.4.2.10).
fn trim_trailing_zeros(nal: &[u8]) -> usize {
    nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// An incremental Annex B splitter. See the module docs.
#[derive(Debug)]
pub struct AnnexBSplitter {
    buf: BytesMut,
    /// True once a start code was seen and `buf` holds the NAL unit after it; false before the
    /// first start code, between NAL units and while dropping an oversized one.
    in_nal: bool,
    /// Where the next search begins in `buf`.
    scan_pos: usize,
    max_nal_bytes: usize,
    discarded_bytes: u64,
}

impl AnnexBSplitter {
    /// A splitter that refuses NAL units larger than `max_nal_bytes`
    /// (see [`super::nal::MAX_NAL_BYTES`]).
    pub fn new(max_nal_bytes: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            in_nal: false,
            scan_pos: 0,
            max_nal_bytes,
            discarded_bytes: 0,
        }
    }

    /// Appends bytes as they came. Call [`next_nal`](Self::next_nal) until it returns `None`
    /// after each push: the buffer then holds at most one unfinished NAL unit (and two bytes
    /// that may begin a start code), which bounds memory to `max_nal_bytes` plus one chunk.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes that were not part of any NAL unit: before the first start code, or of NAL units
    /// dropped for their size (zero padding is not counted). A source with many of these is
    /// not sending Annex B.
    pub fn discarded_bytes(&self) -> u64 {
        self.discarded_bytes
    }

    /// Bytes held, for memory accounting.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Drops all but the last two bytes of the buffer (they may begin a start code).
    fn discard_all_but_two(&mut self) {
        let drop = self.buf.len().saturating_sub(2);
        self.discarded_bytes += trim_trailing_zeros(&self.buf[..drop]) as u64;
        self.buf.advance(drop);
        self.scan_pos = 0;
    }

    /// The next complete NAL unit (without its start code), `None` when more bytes are needed,
    /// or an error for a NAL unit larger than the maximum (it is dropped; call again).
    pub fn next_nal(&mut self) -> Option<Result<Bytes, Error>> {
        loop {
            if !self.in_nal {
                let Some(i) = find_start_code(&self.buf, self.scan_pos) else {
                    self.discard_all_but_two();
                    return None;
                };
                self.discarded_bytes += trim_trailing_zeros(&self.buf[..i]) as u64;
                self.buf.advance(i + 3);
                self.in_nal = true;
                self.scan_pos = 0;
            }
            let Some(end) = find_nal_end(&self.buf, self.scan_pos) else {
                // The last two bytes may begin `00 00 0x`: rescan them next time.
                self.scan_pos = self.buf.len().saturating_sub(2);
                // Inside a NAL unit there are at most two trailing zeros, so beyond
                // `max + 2` bytes the unit itself is too large.
                if self.buf.len() > self.max_nal_bytes.saturating_add(2) {
                    let size = self.buf.len();
                    self.in_nal = false;
                    self.discard_all_but_two();
                    return Some(Err(too_large(size, self.max_nal_bytes)));
                }
                return None;
            };
            let nal = self.buf.split_to(end);
            self.in_nal = false;
            self.scan_pos = 0;
            if nal.len() > self.max_nal_bytes {
                // Only reachable when one push brought the whole oversized unit.
                self.discarded_bytes += nal.len() as u64;
                return Some(Err(too_large(nal.len(), self.max_nal_bytes)));
            }
            if !nal.is_empty() {
                return Some(Ok(nal.freeze()));
            }
            // Two start codes in a row, or zero padding: no unit.
        }
    }

    /// The beginning (up to `max_len` bytes) of the NAL unit being received, once
    /// [`next_nal`](Self::next_nal) returned `None`: enough to read its header and the start of
    /// a slice header before the unit is complete. Trailing zero bytes are left out, as they
    /// may begin the next start code.
    pub fn pending_prefix(&self, max_len: usize) -> Option<&[u8]> {
        if !self.in_nal {
            return None;
        }
        let end = trim_trailing_zeros(&self.buf);
        (end > 0).then(|| &self.buf[..end.min(max_len)])
    }

    /// The end of the stream: the NAL unit still held, if any. The splitter is then empty
    /// and ready for a new stream.
    pub fn finish(&mut self) -> Option<Result<Bytes, Error>> {
        let was_in_nal = std::mem::replace(&mut self.in_nal, false);
        self.scan_pos = 0;
        let mut rest = std::mem::take(&mut self.buf);
        rest.truncate(trim_trailing_zeros(&rest));
        if !was_in_nal {
            self.discarded_bytes += rest.len() as u64;
            return None;
        }
        if rest.len() > self.max_nal_bytes {
            self.discarded_bytes += rest.len() as u64;
            return Some(Err(too_large(rest.len(), self.max_nal_bytes)));
        }
        (!rest.is_empty()).then(|| Ok(rest.freeze()))
    }
}

fn too_large(size: usize, max: usize) -> Error {
    Error::corrupt(format!(
        "H.264 NAL unit of more than {max} bytes ({size} so far): dropped; \
         the stream is damaged or is not H.264 Annex B"
    ))
}

/// The NAL units of a complete Annex B buffer (bytes before the first start code are
/// skipped), as slices of it.
pub fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut next = find_start_code(data, 0).map(|i| i + 3);
    std::iter::from_fn(move || {
        loop {
            let start = next?;
            let end = find_nal_end(data, start).unwrap_or(data.len());
            next = find_start_code(data, end).map(|i| i + 3);
            let nal = &data[start..end];
            let nal = &nal[..trim_trailing_zeros(nal)];
            if !nal.is_empty() {
                return Some(nal);
            }
        }
    })
}

/// A complete Annex B buffer as 4-byte length-prefixed NAL units (the MP4 sample format of
/// ISO/IEC 14496-15 with `lengthSizeMinusOne = 3`).
pub fn annex_b_to_length_prefixed(data: &[u8], max_nal_bytes: usize) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(data.len() + 16);
    for nal in nal_units(data) {
        if nal.len() > max_nal_bytes {
            return Err(too_large(nal.len(), max_nal_bytes));
        }
        // max_nal_bytes is far below 4 GiB; the check keeps this exact on any caller's limit.
        let len = u32::try_from(nal.len()).map_err(|_| too_large(nal.len(), u32::MAX as usize))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(nal);
    }
    if out.is_empty() {
        return Err(Error::corrupt(
            "no H.264 NAL unit: no Annex B start code (00 00 01) found",
        ));
    }
    Ok(out)
}

/// The NAL units of a length-prefixed buffer (MP4 samples, RTSP clients such as retina), with
/// `length_size` bytes (1, 2 or 4) before each, as shared slices of `data`.
pub fn split_length_prefixed(data: &Bytes, length_size: usize) -> Result<Vec<Bytes>, Error> {
    if !matches!(length_size, 1 | 2 | 4) {
        return Err(Error::invalid(format!(
            "NAL length size {length_size}: must be 1, 2 or 4"
        )));
    }
    let mut nals = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let len_bytes = data
            .get(pos..pos + length_size)
            .ok_or_else(|| Error::corrupt("H.264 sample ends inside a NAL length"))?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let start = pos + length_size;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| {
                Error::corrupt(format!(
                    "H.264 NAL length {len} runs past the end of its {}-byte sample",
                    data.len()
                ))
            })?;
        if len == 0 {
            return Err(Error::corrupt("H.264 sample with an empty NAL unit"));
        }
        nals.push(data.slice(start..end));
        pos = end;
    }
    Ok(nals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut AnnexBSplitter) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(r) = s.next_nal() {
            out.push(r.unwrap().to_vec());
        }
        out
    }

    /// Three-byte and four-byte start codes, a leading junk byte, zero padding between
    /// units, and emulation-prevented zeros inside one.
    const STREAM: &[u8] = &[
        0xAA, 0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x01, 0x68,
        0xCE, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x65, 0x88, 0x84, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x01, 0x41, 0x9A, 0x00, 0x00, 0x03, 0x00, 0x80,
    ];

    fn expected() -> Vec<Vec<u8>> {
        vec![
            vec![0x67, 0x42, 0x00, 0x00, 0x03, 0x01],
            vec![0x68, 0xCE],
            vec![0x65, 0x88, 0x84],
            vec![0x41, 0x9A, 0x00, 0x00, 0x03, 0x00, 0x80],
        ]
    }

    #[test]
    fn every_split_point_gives_the_same_nal_units() {
        let whole: Vec<Vec<u8>> = nal_units(STREAM).map(<[u8]>::to_vec).collect();
        assert_eq!(whole, expected());
        for a in 0..=STREAM.len() {
            for b in a..=STREAM.len() {
                let mut s = AnnexBSplitter::new(1024);
                let mut got = Vec::new();
                for chunk in [&STREAM[..a], &STREAM[a..b], &STREAM[b..]] {
                    s.push(chunk);
                    got.extend(drain(&mut s));
                }
                got.extend(s.finish().map(|r| r.unwrap().to_vec()));
                assert_eq!(got, expected(), "split at {a} and {b}");
                assert_eq!(s.discarded_bytes(), 1, "the leading 0xAA");
            }
        }
    }

    #[test]
    fn byte_at_a_time_holds_the_last_unit_until_the_next_start_code() {
        let mut s = AnnexBSplitter::new(1024);
        let mut got = Vec::new();
        for &b in STREAM {
            s.push(&[b]);
            got.extend(drain(&mut s));
        }
        assert_eq!(got.len(), 3, "the last unit waits for its end");
        assert_eq!(s.pending_prefix(2), Some(&[0x41, 0x9A][..]));
        s.push(&[0x00, 0x00]);
        assert!(s.next_nal().is_none());
        // The trailing zeros may be a start code: not part of the prefix.
        assert_eq!(s.pending_prefix(64).map(<[u8]>::len), Some(7));
        s.push(&[0x01, 0x09, 0xF0]);
        assert_eq!(drain(&mut s), [expected()[3].clone()]);
        assert_eq!(s.finish().unwrap().unwrap().as_ref(), &[0x09, 0xF0]);
        assert!(s.finish().is_none());
    }

    #[test]
    fn an_oversized_unit_is_dropped_and_the_next_one_kept() {
        let mut s = AnnexBSplitter::new(16);
        s.push(&[0, 0, 1, 0x65]);
        assert!(s.next_nal().is_none());
        let mut errors = 0;
        // 100 bytes of a runaway unit, fed in small chunks: memory stays bounded.
        for _ in 0..25 {
            s.push(&[0x11, 0x22, 0x33, 0x44]);
            while let Some(r) = s.next_nal() {
                assert!(r.is_err());
                errors += 1;
            }
            assert!(s.buffered_bytes() <= 16 + 4, "{}", s.buffered_bytes());
        }
        assert_eq!(errors, 1, "one error for the unit, then it is skipped");
        s.push(&[0x00, 0x00, 0x01, 0x41, 0x01, 0x00, 0x00, 0x01]);
        assert_eq!(drain(&mut s), [vec![0x41, 0x01]]);
        assert!(s.discarded_bytes() >= 100);

        // A whole oversized unit arriving in one push is an error too.
        let mut s = AnnexBSplitter::new(4);
        s.push(&[0, 0, 1, 1, 2, 3, 4, 5, 6, 0, 0, 1, 0x41, 0, 0, 1]);
        assert!(s.next_nal().unwrap().is_err());
        assert_eq!(s.next_nal().unwrap().unwrap().as_ref(), &[0x41]);
    }

    #[test]
    fn zero_padding_ends_a_unit_and_is_not_kept() {
        let mut s = AnnexBSplitter::new(1024);
        s.push(&[0, 0, 1, 0x65, 0x88, 0x00]);
        assert!(s.next_nal().is_none());
        // 00 00 00 ends the unit (B.2) before any start code follows.
        s.push(&[0x00, 0x00]);
        assert_eq!(s.next_nal().unwrap().unwrap().as_ref(), &[0x65, 0x88]);
        for _ in 0..1000 {
            s.push(&[0; 100]);
            assert!(s.next_nal().is_none());
            assert!(s.buffered_bytes() <= 2);
        }
        s.push(&[0, 0, 1, 0x41, 0x9A, 0, 0, 1]);
        assert_eq!(s.next_nal().unwrap().unwrap().as_ref(), &[0x41, 0x9A]);
        assert_eq!(s.discarded_bytes(), 0, "padding is not junk");
    }

    #[test]
    fn garbage_without_start_codes_is_discarded_not_kept() {
        let mut s = AnnexBSplitter::new(1024);
        for _ in 0..1000 {
            s.push(&[0xFF; 100]);
            assert!(s.next_nal().is_none());
            assert!(s.buffered_bytes() <= 2);
        }
        assert_eq!(s.discarded_bytes(), 100_000 - 2);
        assert!(s.finish().is_none());
    }

    #[test]
    fn length_prefixed_round_trip() {
        let lp = annex_b_to_length_prefixed(STREAM, 1024).unwrap();
        assert_eq!(&lp[..4], &[0, 0, 0, 6]);
        let nals = split_length_prefixed(&Bytes::from(lp), 4).unwrap();
        let nals: Vec<Vec<u8>> = nals.iter().map(|b| b.to_vec()).collect();
        assert_eq!(nals, expected());
        assert!(annex_b_to_length_prefixed(&[1, 2, 3], 1024).is_err());
        assert!(annex_b_to_length_prefixed(STREAM, 4).is_err());
        for bad in [&[0u8, 0, 0, 9, 1][..], &[0, 0], &[0, 0, 0, 0]] {
            assert!(split_length_prefixed(&Bytes::copy_from_slice(bad), 4).is_err());
        }
        assert!(split_length_prefixed(&Bytes::new(), 3).is_err());
        let two = split_length_prefixed(&Bytes::from_static(&[0, 1, 9, 0, 2, 7, 8]), 2).unwrap();
        assert_eq!(two, [&[9u8][..], &[7, 8][..]]);
    }
}
