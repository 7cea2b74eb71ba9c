//! Mask zones: polygons in 0..1 picture coordinates that say where motion counts, rasterized
//! once per analysed size into a bitmask.

use crate::Error;

/// Whether a zone is watched or ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneKind {
    /// Only motion inside include zones counts (when there is at least one).
    Include,
    /// Motion inside is ignored, even inside an include zone: a tree, a road, a TV.
    Exclude,
}

/// A polygon over the picture, in fractions of its width (`x`, left to right) and height
/// (`y`, top to bottom), so it fits any frame size. Edges join consecutive points and the last
/// to the first; self-crossing polygons are read by the even-odd rule.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskZone {
    pub kind: ZoneKind,
    pub points: Vec<(f32, f32)>,
}

impl MaskZone {
    pub fn include(points: Vec<(f32, f32)>) -> Self {
        Self {
            kind: ZoneKind::Include,
            points,
        }
    }

    pub fn exclude(points: Vec<(f32, f32)>) -> Self {
        Self {
            kind: ZoneKind::Exclude,
            points,
        }
    }

    /// The rectangle from (`x0`, `y0`) to (`x1`, `y1`).
    pub fn rect(kind: ZoneKind, x0: f32, y0: f32, x1: f32, y1: f32) -> Self {
        Self {
            kind,
            points: vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
        }
    }

    /// At least 3 points, each within 0..=1.
    pub fn validate(&self) -> Result<(), Error> {
        if self.points.len() < 3 {
            return Err(Error::invalid(format!(
                "a mask zone needs at least 3 points, this one has {}",
                self.points.len()
            )));
        }
        if let Some((x, y)) = self
            .points
            .iter()
            .find(|(x, y)| !(0.0..=1.0).contains(x) || !(0.0..=1.0).contains(y))
        {
            return Err(Error::invalid(format!(
                "mask zone point ({x}, {y}) is outside the picture: coordinates are fractions \
                 of the width and height, 0 to 1"
            )));
        }
        Ok(())
    }

    /// Whether the point (`x`, `y`) is inside, by the even-odd rule.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        let mut inside = false;
        let n = self.points.len();
        for i in 0..n {
            let (xi, yi) = self.points[i];
            let (xj, yj) = self.points[(i + n - 1) % n];
            // The edge crosses the horizontal line through y, and does so right of x.
            if (yi > y) != (yj > y) && x < xi + (y - yi) * (xj - xi) / (yj - yi) {
                inside = !inside;
            }
        }
        inside
    }
}

/// The watched pixels of a `width`x`height` picture, 1 for watched, row by row: inside an
/// include zone (or anywhere, with no include zone) and outside every exclude zone. A pixel
/// belongs to a zone when its centre does.
pub fn rasterize(zones: &[MaskZone], width: u32, height: u32) -> Vec<u8> {
    let any_include = zones.iter().any(|z| z.kind == ZoneKind::Include);
    let mut mask = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height {
        let fy = (y as f32 + 0.5) / height as f32;
        for x in 0..width {
            let fx = (x as f32 + 0.5) / width as f32;
            let mut watched = !any_include;
            for zone in zones {
                if zone.contains(fx, fy) {
                    match zone.kind {
                        ZoneKind::Include => watched = true,
                        ZoneKind::Exclude => {
                            watched = false;
                            break;
                        }
                    }
                }
            }
            mask.push(u8::from(watched));
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(mask: &[u8]) -> usize {
        mask.iter().filter(|&&m| m == 1).count()
    }

    #[test]
    fn no_zones_watch_everything() {
        assert_eq!(count(&rasterize(&[], 16, 9)), 144);
    }

    #[test]
    fn exclude_rect_removes_its_pixels_and_include_keeps_only_its_own() {
        let left = MaskZone::rect(ZoneKind::Exclude, 0.0, 0.0, 0.5, 1.0);
        let mask = rasterize(std::slice::from_ref(&left), 16, 10);
        assert_eq!(count(&mask), 80);
        assert_eq!(mask[0], 0);
        assert_eq!(mask[15], 1);

        let corner = MaskZone::rect(ZoneKind::Include, 0.75, 0.5, 1.0, 1.0);
        let mask = rasterize(std::slice::from_ref(&corner), 16, 10);
        assert_eq!(count(&mask), 4 * 5);
        assert_eq!(mask[9 * 16 + 15], 1);
        // An exclude inside an include wins.
        let hole = MaskZone::rect(ZoneKind::Exclude, 0.75, 0.5, 1.0, 0.75);
        assert!(count(&rasterize(&[corner, hole], 16, 10)) < 20);
    }

    #[test]
    fn triangle_and_self_crossing_polygon_by_even_odd() {
        let tri = MaskZone::include(vec![(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]);
        assert!(tri.contains(0.2, 0.2));
        assert!(!tri.contains(0.8, 0.8));
        // A bow tie: its two lobes are inside, the outside above and below the crossing not.
        let bow = MaskZone::include(vec![(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)]);
        assert!(bow.contains(0.1, 0.5));
        assert!(bow.contains(0.9, 0.5));
        assert!(!bow.contains(0.5, 0.1));
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(
            MaskZone::include(vec![(0.0, 0.0), (1.0, 1.0)])
                .validate()
                .is_err()
        );
        let out = MaskZone::include(vec![(0.0, 0.0), (1.5, 0.0), (0.0, 1.0)]);
        assert!(out.validate().unwrap_err().message().contains("(1.5, 0)"));
        let nan = MaskZone::include(vec![(f32::NAN, 0.0), (1.0, 0.0), (0.0, 1.0)]);
        assert!(nan.validate().is_err());
        assert!(
            MaskZone::rect(ZoneKind::Exclude, 0.1, 0.1, 0.9, 0.9)
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn degenerate_zones_do_not_panic() {
        let flat = MaskZone::include(vec![(0.5, 0.5), (0.5, 0.5), (0.5, 0.5)]);
        assert_eq!(count(&rasterize(&[flat], 8, 8)), 0);
        let empty = MaskZone::exclude(vec![]);
        assert_eq!(count(&rasterize(&[empty], 8, 8)), 64);
    }
}
