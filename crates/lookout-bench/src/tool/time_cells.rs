//! The wall-clock time drawn into a video frame as large black and white cells, and read back
//! from the cells' brightness: the latency bench's "time in the picture". 48 cells, 8 across and
//! 6 down, 40 px each: 32 bits of Unix time in ms (the low 32 bits: they wrap every 49.7 days,
//! far longer than any latency) and a 16-bit CRC of them, so a misread frame is rejected, not
//! counted. 40 px cells survive x264 at 2 Mbit/s and the browser's scaling.

/// A frame's size: 640x360, as the bench sends.
pub const WIDTH: usize = 640;
pub const HEIGHT: usize = 360;
/// Cell side in pixels.
pub const CELL_PX: usize = 40;
pub const COLUMNS: usize = 8;
pub const ROWS: usize = 6;
pub const CELLS: usize = COLUMNS * ROWS;
/// The grid's top left corner: centred.
pub const LEFT_PX: usize = (WIDTH - COLUMNS * CELL_PX) / 2;
pub const TOP_PX: usize = (HEIGHT - ROWS * CELL_PX) / 2;

/// Video ("limited range", BT.601) black and white luma: browsers show them as 0 and 255.
const BLACK_Y: u8 = 16;
const WHITE_Y: u8 = 235;
/// The background's mean and the moving bar (so the encoder has motion to code, as from a
/// camera).
const GREY_Y: u8 = 128;
const BAR_Y: u8 = 200;
/// A cell's mean brightness (0–255, as read from a canvas) within this distance of the middle is
/// neither black nor white: the frame is rejected rather than guessed.
const UNSURE_BAND: u8 = 40;

/// CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF): detects every error of up to 3 bits
/// and every burst of up to 16 in the 32 time bits; a random misread passes 1 time in 65536.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The 48 bits for `time_ms`, the first cell's first: time bits high to low, then the CRC.
fn bits(time_ms: u32) -> [bool; CELLS] {
    let word = (u64::from(time_ms) << 16) | u64::from(crc16(&time_ms.to_be_bytes()));
    std::array::from_fn(|i| word >> (CELLS - 1 - i) & 1 == 1)
}

/// Each cell's top left corner in the frame, in reading order.
pub fn cell_corners() -> impl Iterator<Item = (usize, usize)> {
    (0..CELLS).map(|i| {
        (
            LEFT_PX + (i % COLUMNS) * CELL_PX,
            TOP_PX + (i / COLUMNS) * CELL_PX,
        )
    })
}

/// Grey luma planes with noise of ±`NOISE_Y` that changes every frame, drawn once: with them
/// libx264 spends its whole bit rate (about 8 KB a frame at 2 Mbit/s, as a camera's picture
/// does) instead of a few hundred bytes on a still picture.
pub struct Backgrounds(Vec<Vec<u8>>);

const NOISE_Y: u32 = 24;
const BACKGROUNDS: usize = 8;

impl Backgrounds {
    pub fn generate() -> Self {
        // xorshift32: any fixed sequence does.
        let mut state: u32 = 0x9E37_79B9;
        let planes = (0..BACKGROUNDS)
            .map(|_| {
                (0..WIDTH * HEIGHT)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        // 128 - 24 ..= 128 + 24: fits a u8.
                        u8::try_from(128 - NOISE_Y + state % (2 * NOISE_Y + 1)).unwrap_or(GREY_Y)
                    })
                    .collect()
            })
            .collect();
        Self(planes)
    }
}

/// Draws a 640x360 yuv420p frame: a noisy grey background, a bar that moves with
/// `frame_number`, and `time_ms` in the cells. `frame` is `WIDTH * HEIGHT * 3 / 2` bytes.
pub fn draw_yuv420p(frame: &mut [u8], backgrounds: &Backgrounds, time_ms: u32, frame_number: u64) {
    let (luma, chroma) = frame.split_at_mut(WIDTH * HEIGHT);
    let index = usize::try_from(frame_number % BACKGROUNDS as u64).unwrap_or(0);
    luma.copy_from_slice(&backgrounds.0[index]);
    // No colour: Cb and Cr at their middle.
    chroma.fill(128);
    // A 40 px wide bar along the bottom, 4 px further each frame.
    let bar_left = usize::try_from(frame_number % (WIDTH as u64 / 4)).unwrap_or(0) * 4;
    for row in luma.chunks_exact_mut(WIDTH).skip(HEIGHT - 30) {
        let end = (bar_left + 40).min(WIDTH);
        row[bar_left..end].fill(BAR_Y);
    }
    for ((x, y), bit) in cell_corners().zip(bits(time_ms)) {
        let y_value = if bit { WHITE_Y } else { BLACK_Y };
        for row in luma.chunks_exact_mut(WIDTH).skip(y).take(CELL_PX) {
            row[x..x + CELL_PX].fill(y_value);
        }
    }
}

/// Why a frame's cells were not read.
#[derive(Debug, PartialEq, Eq)]
pub enum Unread {
    /// Not 48 cells.
    WrongCount(usize),
    /// A cell neither black nor white (its index).
    Unsure(usize),
    /// The CRC does not match: a misread.
    BadCheck,
}

/// The time from the cells' mean brightness (0–255, in reading order, as a browser's canvas
/// gives them), or why not.
pub fn read(brightness: &[u8]) -> Result<u32, Unread> {
    if brightness.len() != CELLS {
        return Err(Unread::WrongCount(brightness.len()));
    }
    let mut word: u64 = 0;
    for (i, &b) in brightness.iter().enumerate() {
        if b.abs_diff(128) < UNSURE_BAND {
            return Err(Unread::Unsure(i));
        }
        word = word << 1 | u64::from(b > 128);
    }
    // The top 32 of the 48 bits: fits.
    let time_ms = u32::try_from(word >> 16).map_err(|_| Unread::BadCheck)?;
    if word & 0xFFFF != u64::from(crc16(&time_ms.to_be_bytes())) {
        return Err(Unread::BadCheck);
    }
    Ok(time_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean luma of each cell's middle half, mapped to 0–255 as a browser shows limited range.
    fn brightness_of(frame: &[u8]) -> Vec<u8> {
        cell_corners()
            .map(|(x, y)| {
                let mut sum = 0u32;
                let mut n = 0u32;
                for row in frame.chunks_exact(WIDTH).skip(y + 10).take(CELL_PX / 2) {
                    for &v in &row[x + 10..x + 30] {
                        sum += u32::from(v);
                        n += 1;
                    }
                }
                let mean = (sum / n) as f64;
                ((mean - 16.0) * 255.0 / 219.0).round().clamp(0.0, 255.0) as u8
            })
            .collect()
    }

    fn frame_for(time_ms: u32) -> Vec<u8> {
        let mut f = vec![0u8; WIDTH * HEIGHT * 3 / 2];
        draw_yuv420p(&mut f, &Backgrounds::generate(), time_ms, 7);
        f
    }

    #[test]
    fn drawn_times_read_back() {
        for t in [0, 1, 0x8000_0000, u32::MAX, 1_733_557_123, 0x5555_AAAA] {
            assert_eq!(read(&brightness_of(&frame_for(t))), Ok(t), "{t:#x}");
        }
    }

    #[test]
    fn crc_is_the_standard_ccitt_false() {
        // The check value of CRC-16/CCITT-FALSE for "123456789".
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn a_flipped_cell_is_rejected_not_misread() {
        let good = brightness_of(&frame_for(1_733_557_123));
        for i in 0..CELLS {
            let mut bad = good.clone();
            bad[i] = 255 - bad[i];
            assert_eq!(read(&bad), Err(Unread::BadCheck), "cell {i}");
        }
        // Two time cells swapped in value (a 2-bit error) too.
        let mut bad = good.clone();
        let (a, b) = (0..32)
            .map(|i| (i, i + 1))
            .find(|&(a, b)| good[a] != good[b])
            .unwrap();
        bad.swap(a, b);
        assert_eq!(read(&bad), Err(Unread::BadCheck));
    }

    #[test]
    fn grey_or_missing_cells_are_rejected() {
        let mut cells = brightness_of(&frame_for(42));
        cells[5] = 120;
        assert_eq!(read(&cells), Err(Unread::Unsure(5)));
        assert_eq!(read(&cells[..47]), Err(Unread::WrongCount(47)));
        // A frame without cells (all grey, as before the first stamped frame).
        assert_eq!(read(&[128; CELLS]), Err(Unread::Unsure(0)));
    }

    #[test]
    fn the_grid_fits_the_frame_and_the_bar_stays_clear_of_it() {
        let (x, y) = cell_corners().last().unwrap();
        assert!(x + CELL_PX <= WIDTH && y + CELL_PX <= HEIGHT - 30);
    }
}
