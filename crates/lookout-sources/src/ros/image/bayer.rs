//! Bilinear demosaicing of 8-bit Bayer mosaics to RGB of the same size.
//!
//! Each pixel keeps its own colour and takes the other two as the mean of the nearest pixels
//! of that colour: for a red or blue pixel, green from its 4 edge neighbours and the opposite
//! colour from its 4 corner neighbours; for a green pixel, one colour from its left and right
//! neighbours and the other from above and below. On the border, where some neighbours are
//! missing, the mean is over those of the 3×3 window that exist. Bilinear blurs edges a
//! little and can fringe fine detail; for watching a robot's camera that is enough.

/// Demosaics `height` rows of `width` samples, row `y` starting at `data[y * step]`.
/// `pattern` is the colour (0 R, 1 G, 2 B) at even row even column, even/odd, odd/even and
/// odd/odd. The caller guarantees `width, height >= 2` and the buffer's length.
pub(super) fn demosaic(
    data: &[u8],
    width: usize,
    height: usize,
    step: usize,
    pattern: [usize; 4],
) -> Vec<u8> {
    let colour = |x: usize, y: usize| pattern[(y & 1) * 2 + (x & 1)];
    let row = |y: usize| &data[y * step..][..width];
    let mut out = vec![0u8; width * height * 3];
    let s = |v: u8| u16::from(v);
    for y in 0..height {
        let out_row = &mut out[y * width * 3..][..width * 3];
        let border = |x: usize, out_row: &mut [u8]| {
            border_pixel(
                &row,
                &colour,
                width,
                height,
                x,
                y,
                &mut out_row[x * 3..][..3],
            );
        };
        if y == 0 || y + 1 == height {
            for x in 0..width {
                border(x, out_row);
            }
            continue;
        }
        border(0, out_row);
        border(width - 1, out_row);
        let (up, mid, down) = (row(y - 1), row(y), row(y + 1));
        // Colours alternate along a row: look them up once.
        let colours = [colour(0, y), colour(1, y)];
        for x in 1..width - 1 {
            let c = colours[x & 1];
            let px = &mut out_row[x * 3..][..3];
            px[c] = mid[x];
            if c == 1 {
                // Green: the horizontal neighbours are one of red/blue, the vertical the other.
                let across = colours[(x + 1) & 1];
                px[across] = (s(mid[x - 1]) + s(mid[x + 1])).div_ceil(2) as u8;
                px[2 - across] = (s(up[x]) + s(down[x])).div_ceil(2) as u8;
            } else {
                let edges = s(up[x]) + s(down[x]) + s(mid[x - 1]) + s(mid[x + 1]);
                let corners = s(up[x - 1]) + s(up[x + 1]) + s(down[x - 1]) + s(down[x + 1]);
                px[1] = ((edges + 2) / 4) as u8;
                px[2 - c] = ((corners + 2) / 4) as u8;
            }
        }
    }
    out
}

/// A pixel on the image's edge: the mean of each colour over the 3×3 window clipped to the
/// image, its own colour from itself. With at least 2×2 pixels every colour occurs in it.
fn border_pixel<'a>(
    row: &impl Fn(usize) -> &'a [u8],
    colour: &impl Fn(usize, usize) -> usize,
    width: usize,
    height: usize,
    x: usize,
    y: usize,
    px: &mut [u8],
) {
    let mut sum = [0u32; 3];
    let mut count = [0u32; 3];
    for yy in y.saturating_sub(1)..=(y + 1).min(height - 1) {
        let x0 = x.saturating_sub(1);
        let window = &row(yy)[x0..=(x + 1).min(width - 1)];
        for (xx, &v) in (x0..).zip(window) {
            let c = colour(xx, yy);
            sum[c] += u32::from(v);
            count[c] += 1;
        }
    }
    let own = colour(x, y);
    for c in 0..3 {
        px[c] = if c == own {
            row(y)[x]
        } else {
            ((sum[c] + count[c] / 2) / count[c].max(1)) as u8
        };
    }
}
