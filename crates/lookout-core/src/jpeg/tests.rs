use super::*;

fn gradient(w: u32, h: u32) -> RgbImage {
    let mut img = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            img.data[i] = (x * 255 / w) as u8;
            img.data[i + 1] = (y * 255 / h) as u8;
            img.data[i + 2] = 128;
        }
    }
    img
}

#[test]
fn encode_then_decode_keeps_size_and_colours() {
    let img = gradient(64, 48);
    let jpeg = encode_rgb(&img, 90).unwrap();
    let info = inspect(&jpeg).unwrap();
    assert_eq!((info.width, info.height, info.len), (64, 48, jpeg.len()));
    let back = decode_rgb(&jpeg).unwrap();
    assert_eq!((back.width, back.height), (64, 48));
    let [r, g, b] = back.pixel(60, 40);
    assert!(r > 200 && g > 180 && (110..150).contains(&b), "{r} {g} {b}");
}

#[test]
fn scanner_resumes_across_every_split_point() {
    let jpeg = encode_rgb(&gradient(40, 30), 80).unwrap();
    for split in 0..jpeg.len() {
        let mut s = JpegScanner::new();
        let first = s.scan(&jpeg[..split]);
        assert!(
            matches!(first, Scan::Incomplete),
            "split {split}: {first:?}"
        );
        assert_eq!(s.scan(&jpeg), Scan::Complete(jpeg.len()), "split {split}");
        assert_eq!(s.size(), Some((40, 30)));
    }
}

#[test]
fn scanner_ignores_eoi_inside_an_app_segment() {
    let jpeg = encode_rgb(&gradient(16, 16), 80).unwrap();
    // An APP1 segment holding FF D9 (as an EXIF thumbnail would) right after SOI.
    let mut with_app = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9];
    with_app.extend_from_slice(&jpeg[2..]);
    assert_eq!(inspect(&with_app).unwrap().len, with_app.len());
}

#[test]
fn damaged_jpegs_are_errors_not_panics() {
    let jpeg = encode_rgb(&gradient(32, 32), 80).unwrap();
    assert_eq!(
        inspect(b"hello"),
        Err("does not start with a JPEG SOI marker")
    );
    assert_eq!(inspect(&jpeg[..jpeg.len() - 2]), Err("JPEG is truncated"));
    assert_eq!(
        inspect(&[0xFF, 0xD8, 0xFF, 0xD9]),
        Err("JPEG ends before its image data")
    );
    assert!(decode_rgb(&jpeg[..jpeg.len() / 2]).is_err());
    // Flip bytes all over the entropy data: decode may fail or give garbage, never panic.
    for i in (jpeg.len() / 2..jpeg.len() - 2).step_by(7) {
        let mut bad = jpeg.clone();
        bad[i] ^= 0x5A;
        let _ = decode_rgb(&bad);
    }
}

/// Both compiled backends give the same sizes and close colours for the same input.
#[test]
fn every_backend_round_trips() {
    let img = gradient(96, 64);
    type Encode = fn(&RgbImage, u8) -> Result<Vec<u8>, crate::Error>;
    type Decode = fn(&[u8]) -> Result<RgbImage, crate::Error>;
    #[cfg_attr(not(feature = "turbojpeg"), allow(unused_mut))]
    let mut backends: Vec<(&str, Encode, Decode)> = vec![(
        "rust",
        super::rust_backend::encode_rgb,
        super::rust_backend::decode_rgb,
    )];
    #[cfg(feature = "turbojpeg")]
    backends.push((
        "turbo",
        super::turbo_backend::encode_rgb,
        super::turbo_backend::decode_rgb,
    ));
    for (name, enc, dec) in backends {
        let jpeg = enc(&img, 90).unwrap();
        assert_eq!(inspect(&jpeg).unwrap().width, 96, "{name}");
        let back = dec(&jpeg).unwrap();
        assert_eq!((back.width, back.height), (96, 64), "{name}");
        for (x, y) in [(5, 5), (50, 30), (90, 60)] {
            let (a, b) = (img.pixel(x, y), back.pixel(x, y));
            let diff = a
                .iter()
                .zip(b)
                .map(|(p, q)| (i32::from(*p) - i32::from(q)).abs())
                .max()
                .unwrap();
            assert!(diff < 24, "{name} at ({x},{y}): {a:?} vs {b:?}");
        }
    }
}

#[test]
fn refuses_to_encode_empty_or_huge_images() {
    assert_eq!(
        encode_rgb(&RgbImage::new(0, 10), 80).unwrap_err().kind(),
        crate::ErrorKind::InvalidInput
    );
    let huge = RgbImage {
        width: MAX_SIDE + 1,
        height: 1,
        data: vec![0; (MAX_SIDE as usize + 1) * 3],
    };
    assert!(encode_rgb(&huge, 80).is_err());
}
