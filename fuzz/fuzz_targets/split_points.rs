//! Where the incremental targets cut their input in two: at every point when there are at
//! most `max_points` of them; otherwise at every point near a 0xFF byte (where JPEG markers,
//! stuffing and length fields are, so where a resumed scan can go wrong), near either end and
//! every 32nd between, thinned to `max_points`. Each cut rescans the whole input.

/// Cuts this far before and after each 0xFF: the marker byte and a 2-byte length after it.
const MARKER_REACH: (usize, usize) = (2, 4);
const EDGE_POINTS: usize = 16;
const STRIDE: usize = 32;

pub fn split_points(data: &[u8], max_points: usize) -> Vec<usize> {
    let len = data.len();
    if len < max_points {
        return (0..=len).collect();
    }
    let mut near = vec![false; len + 1];
    for (i, _) in data.iter().enumerate().filter(|(_, b)| **b == 0xFF) {
        for p in i.saturating_sub(MARKER_REACH.0)..=(i + MARKER_REACH.1).min(len) {
            near[p] = true;
        }
    }
    let points: Vec<usize> = (0..=len)
        .filter(|&p| near[p] || p < EDGE_POINTS || p + EDGE_POINTS > len || p % STRIDE == 0)
        .collect();
    let step = points.len().div_ceil(max_points.max(1));
    points.into_iter().step_by(step).collect()
}
