//! Access units from an Annex B byte stream arriving in chunks (a `command` source's pipe):
//! the splitter and the assembler together, ending each access unit as soon as the first
//! bytes of the next one arrive.

use super::access_unit::{AccessUnit, AccessUnitAssembler, begins_after_picture};
use super::annexb::AnnexBSplitter;
use super::nal::NalHeader;
use crate::Error;

/// Whether `data` (the first bytes after a writer's pause) begins with a start code and a NAL
/// unit that begins a new access unit after a picture: what a writer that pauses only between
/// access units sends. `None`: too few bytes to tell.
pub fn begins_access_unit(data: &[u8]) -> Option<bool> {
    let after_start_code = match data {
        [0, 0, 1, rest @ ..] | [0, 0, 0, 1, rest @ ..] => rest,
        [0] | [0, 0] | [0, 0, 0] => return None,
        _ => return Some(false),
    };
    if after_start_code.len() < HEAD_BYTES.min(2) {
        return None;
    }
    begins_after_picture(&after_start_code[..after_start_code.len().min(HEAD_BYTES)])
}

/// Bytes of a NAL unit enough to read its header and `first_mb_in_slice` (a ue(v) of at most
/// 63 bits, plus emulation-prevention bytes).
const HEAD_BYTES: usize = 16;

/// See the module docs. Push bytes with [`push`](Self::push), then call
/// [`next_access_unit`](Self::next_access_unit) until it returns `None`.
#[derive(Debug)]
pub struct AnnexBReader {
    splitter: AnnexBSplitter,
    assembler: AccessUnitAssembler,
}

impl AnnexBReader {
    /// A reader that refuses NAL units over `max_nal_bytes` (see [`super::nal::MAX_NAL_BYTES`]).
    pub fn new(max_nal_bytes: usize) -> Self {
        Self {
            splitter: AnnexBSplitter::new(max_nal_bytes),
            assembler: AccessUnitAssembler::new(),
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.splitter.push(data);
    }

    /// The next complete access unit, an error about damaged input (the reader carries on:
    /// call again), or `None` when more bytes are needed.
    pub fn next_access_unit(&mut self) -> Option<Result<AccessUnit, Error>> {
        loop {
            if let Some(au) = self.assembler.pop() {
                return Some(Ok(au));
            }
            match self.splitter.next_nal() {
                Some(Ok(nal)) => {
                    if let Err(e) = self.assembler.push_nal(nal) {
                        return Some(Err(e));
                    }
                }
                Some(Err(e)) => return Some(Err(e)),
                None => {
                    if let Some(head) = self.splitter.pending_prefix(HEAD_BYTES) {
                        self.assembler.end_if_next_starts_with(head);
                    }
                    return self.assembler.pop().map(Ok);
                }
            }
        }
    }

    /// The end of the stream: what is held becomes the last NAL unit and access unit. Call
    /// [`next_access_unit`](Self::next_access_unit) afterwards to collect them.
    pub fn finish(&mut self) -> Result<(), Error> {
        let last = match self.splitter.finish() {
            Some(Ok(nal)) => self.assembler.push_nal(nal),
            Some(Err(e)) => Err(e),
            None => Ok(()),
        };
        self.assembler.flush();
        last
    }

    /// Whether the bytes held end in a picture's slice still being received: only the start
    /// of the next unit (or [`end_at_pause`](Self::end_at_pause)) completes that picture.
    pub fn holds_slice(&self) -> bool {
        self.splitter
            .pending_prefix(1)
            .and_then(|head| NalHeader::parse(head).ok())
            .is_some_and(|h| h.nal_type.is_vcl())
    }

    /// The writer paused after the bytes held, and it is known to pause only between access
    /// units: the NAL unit and the access unit held are complete now rather than when the next
    /// unit's first bytes arrive (a frame interval later). Call it once
    /// [`next_access_unit`](Self::next_access_unit) returned `None`, then collect the unit
    /// with it. The next bytes must begin with a start code, or what comes before one is
    /// dropped as not H.264.
    pub fn end_at_pause(&mut self) -> Result<(), Error> {
        self.finish()
    }

    /// Bytes held for an unfinished NAL unit, for memory accounting.
    pub fn buffered_bytes(&self) -> usize {
        self.splitter.buffered_bytes()
    }

    /// Bytes of the input that were not H.264 (see [`AnnexBSplitter::discarded_bytes`]).
    pub fn discarded_bytes(&self) -> u64 {
        self.splitter.discarded_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::{X264_BASELINE_1278X718, X264_BASELINE_PPS};
    use super::*;

    fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for n in nals {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(n);
        }
        out
    }

    #[test]
    fn a_unit_comes_out_when_the_next_units_head_arrives() {
        let mut r = AnnexBReader::new(1 << 20);
        r.push(&annex_b(&[
            X264_BASELINE_1278X718,
            X264_BASELINE_PPS,
            &[0x65, 0x88, 0x84, 0x21],
        ]));
        assert!(r.next_access_unit().is_none(), "the IDR slice may go on");
        // The start code and the header byte of the next slice: not enough to tell.
        r.push(&[0, 0, 0, 1, 0x41]);
        assert!(r.next_access_unit().is_none());
        // Its first slice-header bit says first_mb_in_slice = 0: a new picture.
        r.push(&[0x9A]);
        let au = r.next_access_unit().unwrap().unwrap();
        assert!(au.is_key);
        assert_eq!(au.nals.last().unwrap().as_ref(), &[0x65, 0x88, 0x84, 0x21]);
        assert!(r.next_access_unit().is_none());
        r.push(&[0x38]);
        r.finish().unwrap();
        let au = r.next_access_unit().unwrap().unwrap();
        assert_eq!(
            (au.is_key, au.nals[0].as_ref()),
            (false, &[0x41, 0x9A, 0x38][..])
        );
        assert!(r.next_access_unit().is_none());
    }

    #[test]
    fn damaged_input_is_reported_and_reading_goes_on() {
        let mut r = AnnexBReader::new(64);
        let mut data = annex_b(&[&[0x65, 0x88], &[0xE5, 0x88]]);
        data.extend(annex_b(&[&[0x41; 100]]));
        data.extend(annex_b(&[&[0x41, 0x9A], &[0x41, 0x9B]]));
        r.push(&data);
        let mut results = Vec::new();
        while let Some(x) = r.next_access_unit() {
            results.push(x.map(|au| au.nals.len()));
        }
        r.finish().unwrap();
        while let Some(x) = r.next_access_unit() {
            results.push(x.map(|au| au.nals.len()));
        }
        let oks: Vec<usize> = results
            .iter()
            .filter_map(|x| x.as_ref().ok().copied())
            .collect();
        let errors = results.iter().filter(|x| x.is_err()).count();
        assert_eq!(oks, [1, 1, 1], "IDR, then two P pictures");
        assert_eq!(errors, 2, "the forbidden bit and the 100-byte unit");
    }

    #[test]
    fn what_begins_an_access_unit_after_a_pause() {
        // A start code (3 or 4 bytes) and an SPS, an AUD, or a first slice (first_mb 0: the
        // bit after the header is 1).
        assert_eq!(
            begins_access_unit(&annex_b(&[X264_BASELINE_1278X718])),
            Some(true)
        );
        assert_eq!(begins_access_unit(&[0, 0, 1, 0x09, 0xF0]), Some(true));
        assert_eq!(begins_access_unit(&[0, 0, 0, 1, 0x41, 0x9A]), Some(true));
        // A slice going on with macroblock 1: the same picture.
        assert_eq!(begins_access_unit(&[0, 0, 0, 1, 0x41, 0x40]), Some(false));
        // No start code: the middle of a unit.
        assert_eq!(begins_access_unit(&[0x88, 0x84, 0, 0, 1]), Some(false));
        // Too little to tell.
        assert_eq!(begins_access_unit(&[0, 0]), None);
        assert_eq!(begins_access_unit(&[0, 0, 0, 1]), None);
    }

    #[test]
    fn a_pause_ends_the_picture_held_and_the_next_one_follows() {
        let mut r = AnnexBReader::new(1 << 20);
        r.push(&annex_b(&[
            X264_BASELINE_1278X718,
            X264_BASELINE_PPS,
            &[0x65, 0x88, 0x84, 0x21],
        ]));
        assert!(r.next_access_unit().is_none());
        assert!(r.holds_slice());
        r.end_at_pause().unwrap();
        assert!(!r.holds_slice());
        let au = r.next_access_unit().unwrap().unwrap();
        assert!(au.is_key && au.params.is_some());
        r.push(&annex_b(&[&[0x41, 0x9A, 0x38]]));
        assert!(r.next_access_unit().is_none());
        r.end_at_pause().unwrap();
        let au = r.next_access_unit().unwrap().unwrap();
        assert_eq!(
            (au.is_key, au.nals[0].as_ref()),
            (false, &[0x41, 0x9A, 0x38][..])
        );
        assert!(au.params.is_some(), "parameters outlive a pause");
        assert_eq!(r.discarded_bytes(), 0);
    }
}
