//! Writing ISO BMFF boxes (ISO/IEC 14496-12 4.2): a 32-bit size, a four-character type, and
//! for "full boxes" a version byte and 24 bits of flags, before the body.

/// Appends a box of type `kind` whose body `body` writes, then fills in its size.
///
/// Sizes are 32-bit: every caller bounds its content far below 4 GiB (an init segment is a
/// few hundred bytes, a fragment at most [`super::fragment::MAX_FRAGMENT_BYTES`]).
pub(crate) fn write_box(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(kind);
    body(out);
    let size = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box: [`write_box`] with `version` and the low 24 bits of `flags` first.
pub(crate) fn write_full_box(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    write_box(out, kind, |out| {
        out.push(version);
        out.extend_from_slice(&flags.to_be_bytes()[1..]);
        body(out);
    });
}

pub(crate) fn u16_be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn u32_be(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn u64_be(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// The identity transformation matrix of `mvhd` and `tkhd` (14496-12 8.2.2.3): 16.16 fixed
/// point a, b, u, c, d, v and 2.30 for w.
pub(crate) fn unity_matrix(out: &mut Vec<u8>) {
    for v in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000u32] {
        u32_be(out, v);
    }
}

/// Boxes read back from bytes, for tests: `(type, body)` of each box at the top level of
/// `data`. Stops at the first box whose size does not fit.
#[cfg(test)]
pub(crate) fn parse_boxes(data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        if size < 8 || pos + size > data.len() {
            break;
        }
        let kind: [u8; 4] = data[pos + 4..pos + 8].try_into().unwrap();
        out.push((kind, &data[pos + 8..pos + size]));
        pos += size;
    }
    out
}

/// The body of the first box of type `path[0]` in `data`, then of `path[1]` inside it, etc.
/// `skip` bytes of each container's body come before its children (a full box's header, a
/// sample entry's fields): given per path element.
#[cfg(test)]
pub(crate) fn find_box<'a>(data: &'a [u8], path: &[(&[u8; 4], usize)]) -> Option<&'a [u8]> {
    let mut body = data;
    let mut skip = 0;
    for (kind, next_skip) in path {
        body = parse_boxes(body.get(skip..)?)
            .into_iter()
            .find(|(k, _)| k == *kind)?
            .1;
        skip = *next_skip;
    }
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_cover_header_and_nested_bodies() {
        let mut out = Vec::new();
        write_box(&mut out, b"moof", |out| {
            write_full_box(out, b"mfhd", 0, 0, |out| u32_be(out, 7));
        });
        assert_eq!(
            out,
            [
                0, 0, 0, 24, b'm', b'o', b'o', b'f', 0, 0, 0, 16, b'm', b'f', b'h', b'd', 0, 0, 0,
                0, 0, 0, 0, 7
            ]
        );
        let mfhd = find_box(&out, &[(b"moof", 0), (b"mfhd", 0)]).unwrap();
        assert_eq!(mfhd, [0, 0, 0, 0, 0, 0, 0, 7]);
        let mut out = Vec::new();
        write_full_box(&mut out, b"tfhd", 1, 0x0002_0000, |_| {});
        assert_eq!(&out[8..], &[1, 2, 0, 0]);
    }
}
