//! Access units from an Annex B byte stream arriving in chunks (a `command` source's pipe):
//! the splitter and the assembler together, ending each access unit as soon as the first
//! bytes of the next one arrive.

use super::access_unit::{AccessUnit, AccessUnitAssembler};
use super::annexb::AnnexBSplitter;
use crate::Error;

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
}
