//! The quality a JPEG was encoded at, estimated from its quantisation tables (DQT), so a
//! variant is never re-encoded at a higher quality than its source had: that costs bytes and
//! cannot bring back what the source's quantisation threw away.
//!
//! The estimate is the IJG quality (1..=100, as libjpeg, jpeg-encoder and libjpeg-turbo scale
//! the example tables of ITU T.81 Annex K) whose tables are nearest to the file's. Encoders
//! with their own tables (ffmpeg's `-q:v`, cameras) get the IJG quality of about the same
//! coarseness.

use super::encode::tables::{STD_CHROMA_Q, STD_LUMA_Q, ZIGZAG, scaled_quant};

/// The IJG quality (1..=100) of the JPEG `data`'s tables, or `None` when it has no readable
/// DQT before its first scan. Table 0 is compared with the luminance table, table 1 (when
/// present) with the chrominance one.
pub fn estimate_quality(data: &[u8]) -> Option<u8> {
    let tables = read_tables(data)?;
    let luma = tables[0]?;
    let chroma = tables[1];
    (1..=100u8).min_by_key(|&q| {
        let mut diff = distance(&luma, &scaled_quant(&STD_LUMA_Q, q));
        if let Some(c) = &chroma {
            diff += distance(c, &scaled_quant(&STD_CHROMA_Q, q));
        }
        // Ties (flat tables at the ends of the range) go to the higher quality: never
        // cap lower than the source could be.
        (diff, std::cmp::Reverse(q))
    })
}

fn distance(a: &[u16; 64], b: &[u16; 64]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum()
}

/// Quantisation tables 0 and 1 in natural order, from the DQT segments before the first SOS.
fn read_tables(data: &[u8]) -> Option<[Option<[u16; 64]>; 2]> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut tables = [None, None];
    let mut pos = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF (T.81 B.1.1.2).
        while data.get(pos)? == &0xFF && data.get(pos + 1)? == &0xFF {
            pos += 1;
        }
        if data.get(pos)? != &0xFF {
            return None;
        }
        let marker = *data.get(pos + 1)?;
        if marker == 0xDA || marker == 0xD9 {
            return Some(tables);
        }
        let len = usize::from(u16::from_be_bytes([
            *data.get(pos + 2)?,
            *data.get(pos + 3)?,
        ]));
        let body = data.get(pos + 4..pos + 2 + len.max(2))?;
        if marker == 0xDB {
            read_dqt(body, &mut tables)?;
        }
        pos += 2 + len;
    }
}

/// One DQT segment's body: one or more tables, each `Pq Tq` then 64 values of 8 or 16 bits.
fn read_dqt(mut body: &[u8], tables: &mut [Option<[u16; 64]>; 2]) -> Option<()> {
    while let Some((&pq_tq, rest)) = body.split_first() {
        let sixteen_bits = pq_tq >> 4 == 1;
        let id = usize::from(pq_tq & 0x0F);
        let size = if sixteen_bits { 128 } else { 64 };
        let values = rest.get(..size)?;
        let mut table = [0u16; 64];
        for (k, &natural) in ZIGZAG.iter().enumerate() {
            table[natural] = if sixteen_bits {
                u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
            } else {
                u16::from(values[k])
            };
        }
        if let Some(slot) = tables.get_mut(id) {
            *slot = Some(table);
        }
        body = &rest[size..];
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RgbImage;
    use crate::jpeg::encode_rgb;

    #[test]
    fn finds_the_quality_our_encoder_used() {
        let mut img = RgbImage::new(32, 16);
        img.fill_rect(0, 0, 16, 16, [200, 30, 90]);
        for q in [10, 25, 50, 75, 80, 90, 95, 100] {
            let jpeg = encode_rgb(&img, q).expect("encode");
            let est = estimate_quality(&jpeg).expect("tables");
            // At 98..=100 every table entry is 1..=2: those qualities share tables.
            assert!(
                est == q || (q >= 98 && est >= 98),
                "encoded at {q}, estimated {est}"
            );
        }
    }

    #[test]
    fn no_tables_no_estimate() {
        assert_eq!(estimate_quality(b"not a jpeg"), None);
        assert_eq!(estimate_quality(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), None);
        // A DQT cut short.
        assert_eq!(
            estimate_quality(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 67, 0, 1, 2]),
            None
        );
    }
}
