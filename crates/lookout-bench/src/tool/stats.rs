//! Small statistics over measured samples: quantiles by nearest rank.

/// The `q` quantile (0 to 1) of `sorted` by nearest rank; `None` when empty.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Sorts and takes quantiles of durations measured in seconds, giving milliseconds.
pub fn quantiles_ms(mut secs: Vec<f64>, qs: &[f64]) -> Vec<Option<f64>> {
    secs.sort_by(f64::total_cmp);
    qs.iter()
        .map(|&q| quantile(&secs, q).map(|s| s * 1e3))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(quantile(&v, 0.5), Some(5));
        assert_eq!(quantile(&v, 0.9), Some(9));
        assert_eq!(quantile(&v, 0.99), Some(10));
        assert_eq!(quantile(&v, 0.0), Some(1));
        assert_eq!(quantile(&[7], 0.5), Some(7));
        assert_eq!(quantile::<u32>(&[], 0.5), None);
    }
}
