#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! QR codes decode back to the URI: PNGs decoded with the `png` crate and read by rqrr (a pure-Rust QR
//! decoder); the module matrix, the SVG and the terminal text carry the same modules.

use mfa_enroll::{Enrollment, Error, KeyUri, QUIET_ZONE, QrCode, TerminalTheme};
use mfa_otp::Secret;

/// Reads a greyscale PNG and decodes the QR codes in it.
fn decode_png(bytes: &[u8]) -> Vec<String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    // Stored as 1-bit greyscale, expanded to 8 bits by the decoder.
    assert_eq!(reader.info().bit_depth, png::BitDepth::One);
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    img.detect_grids()
        .into_iter()
        .map(|g| g.decode().unwrap().1)
        .collect()
}

/// The module matrix, including the quiet zone, straight into rqrr.
fn decode_matrix(qr: &QrCode) -> Vec<String> {
    let side = qr.width() + 2 * QUIET_ZONE;
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(side * 4, side * 4, |x, y| {
        let (x, y) = (x / 4, y / 4);
        x >= QUIET_ZONE && y >= QUIET_ZONE && qr.is_dark(x - QUIET_ZONE, y - QUIET_ZONE)
    });
    img.detect_grids()
        .into_iter()
        .map(|g| g.decode().unwrap().1)
        .collect()
}

fn sample_uris() -> Vec<String> {
    let small =
        KeyUri::totp(Secret::from_bytes(&[7; 20]).unwrap(), "alice@example.com").with_issuer("Example");
    let big = KeyUri::hotp(
        Secret::from_bytes(&[0xa5; 128]).unwrap(),
        "j d&e+f@g%h#i?j:k Ünïcødé 株式会社",
        9,
    )
    .with_issuer("A very long issuer name & Co")
    .with_image("https://example.com/a/long/path/to/the/logo.png");
    vec![
        small.to_uri().unwrap().as_str().to_owned(),
        big.to_uri().unwrap().as_str().to_owned(),
    ]
}

#[test]
fn png_decodes_to_the_uri() {
    for uri in sample_uris() {
        let qr = QrCode::encode(&uri).unwrap();
        assert_eq!(decode_png(&qr.to_png().unwrap()), vec![uri.clone()]);
        for scale in [2, 3] {
            let png = qr.to_png_scaled(scale).unwrap();
            assert_eq!(decode_png(&png), vec![uri.clone()], "scale {scale}");
        }
        assert_eq!(decode_matrix(&qr), vec![uri]);
    }
}

#[test]
fn png_has_the_quiet_zone() {
    let qr = QrCode::encode("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP").unwrap();
    let png = qr.to_png_scaled(2).unwrap();
    let mut decoder = png::Decoder::new(std::io::Cursor::new(&png[..]));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let side = (qr.width() + 2 * QUIET_ZONE) * 2;
    assert_eq!((info.width as usize, info.height as usize), (side, side));
    let w = side;
    for i in 0..side {
        for m in 0..QUIET_ZONE * 2 {
            for (x, y) in [(i, m), (m, i), (i, side - 1 - m), (side - 1 - m, i)] {
                assert_eq!(buf[y * w + x], 255, "quiet zone pixel {x},{y}");
            }
        }
    }
    // The top-left finder pattern starts right after the quiet zone.
    assert_eq!(buf[(QUIET_ZONE * 2) * w + QUIET_ZONE * 2], 0);
}

#[test]
fn data_url_is_the_png() {
    use base64::Engine as _;
    let uri = &sample_uris()[0];
    let qr = QrCode::encode(uri).unwrap();
    let url = qr.to_data_url().unwrap();
    let b64 = url.strip_prefix("data:image/png;base64,").unwrap();
    let png = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    assert_eq!(&png[..], &qr.to_png().unwrap()[..]);
    assert_eq!(decode_png(&png), vec![uri.clone()]);
}

/// Reads the terminal text back into modules: each character is two modules high.
fn terminal_matrix(text: &str, theme: TerminalTheme) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for c in line.chars() {
            let (t, b) = match c {
                '\u{2588}' => (true, true),
                '\u{2580}' => (true, false),
                '\u{2584}' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected {other:?}"),
            };
            // Ink is light on a dark background: dark modules are where there is no ink.
            let dark = |ink: bool| match theme {
                TerminalTheme::DarkBackground => !ink,
                _ => ink,
            };
            top.push(dark(t));
            bottom.push(dark(b));
        }
        rows.push(top);
        rows.push(bottom);
    }
    rows
}

#[test]
fn terminal_text_carries_every_module_and_the_quiet_zone() {
    for uri in sample_uris() {
        let qr = QrCode::encode(&uri).unwrap();
        let side = qr.width() + 2 * QUIET_ZONE;
        for theme in [TerminalTheme::DarkBackground, TerminalTheme::LightBackground] {
            let text = qr.to_terminal(theme);
            assert!(text.ends_with('\n'));
            assert_eq!(text.lines().count(), side.div_ceil(2));
            let rows = terminal_matrix(&text, theme);
            for (y, row) in rows.iter().enumerate().take(side) {
                assert_eq!(row.len(), side);
                for (x, &dark) in row.iter().enumerate() {
                    let expected =
                        x >= QUIET_ZONE && y >= QUIET_ZONE && qr.is_dark(x - QUIET_ZONE, y - QUIET_ZONE);
                    assert_eq!(dark, expected, "module {x},{y}");
                }
            }
            // And the modules read from the text decode with rqrr.
            let mut img =
                rqrr::PreparedImage::prepare_from_bitmap(side * 4, side * 4, |x, y| rows[y / 4][x / 4]);
            let decoded: Vec<String> = img
                .detect_grids()
                .into_iter()
                .map(|g| g.decode().unwrap().1)
                .collect();
            assert_eq!(decoded, vec![uri.clone()]);
        }
    }
}

/// The dark modules an SVG of `to_svg` paints: each path segment `Mx,yhNv1h-Nz` is a run of N modules.
fn paint_svg(svg: &str, side: usize) -> Vec<Vec<bool>> {
    let d = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
    let mut painted = vec![vec![false; side]; side];
    for segment in d.split('M').filter(|s| !s.is_empty()) {
        let (xy, rest) = segment.split_once('h').unwrap();
        let (x, y) = xy.split_once(',').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let (run, tail) = rest.split_once("v1h-").unwrap();
        assert_eq!(tail, format!("{run}z"), "{segment}");
        for cell in &mut painted[y][x..x + run.parse::<usize>().unwrap()] {
            assert!(!*cell, "painted twice at {x},{y}");
            *cell = true;
        }
    }
    painted
}

#[test]
fn svg_has_a_size_and_one_segment_per_run_of_dark_modules() {
    for uri in sample_uris() {
        let qr = QrCode::encode(&uri).unwrap();
        let side = qr.width() + 2 * QUIET_ZONE;
        let svg = qr.to_svg();
        let px = side * mfa_enroll::DEFAULT_PNG_SCALE as usize;
        assert!(svg.starts_with(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{px}\" height=\"{px}\" viewBox=\"0 0 {side} {side}\""
        )), "{}", svg.as_str());
        assert!(svg.ends_with("\"/></svg>\n"));
        // The painted modules are exactly the dark ones, in one segment per horizontal run.
        let painted = paint_svg(&svg, side);
        let mut runs = 0;
        for (y, row) in painted.iter().enumerate() {
            for x in 0..side {
                let dark = x >= QUIET_ZONE && y >= QUIET_ZONE && qr.is_dark(x - QUIET_ZONE, y - QUIET_ZONE);
                assert_eq!(row[x], dark, "{x},{y}");
                let left_dark = x > 0 && row[x - 1];
                runs += usize::from(dark && !left_dark);
            }
        }
        assert_eq!(svg.matches('M').count(), runs);
        // The painted SVG decodes back to the URI.
        let mut img =
            rqrr::PreparedImage::prepare_from_bitmap(side * 4, side * 4, |x, y| painted[y / 4][x / 4]);
        let decoded: Vec<String> = img
            .detect_grids()
            .into_iter()
            .map(|g| g.decode().unwrap().1)
            .collect();
        assert_eq!(decoded, vec![uri.clone()]);
        // A scale sets the size only.
        let scaled = qr.to_svg_scaled(3).unwrap();
        assert!(scaled.contains(&format!(" width=\"{}\" height=\"{}\" ", side * 3, side * 3)));
        assert_eq!(paint_svg(&scaled, side), painted);
    }
    let qr = QrCode::encode("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(qr.to_svg_scaled(0).unwrap_err(), Error::InvalidScale);
    assert_eq!(qr.to_svg_scaled(65).unwrap_err(), Error::InvalidScale);
}

#[test]
fn errors_and_redaction() {
    assert_eq!(QrCode::encode(&"A".repeat(5000)).unwrap_err(), Error::QrTooLong);
    let qr = QrCode::encode("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(qr.to_png_scaled(0).unwrap_err(), Error::InvalidScale);
    assert_eq!(qr.to_png_scaled(65).unwrap_err(), Error::InvalidScale);
    assert_eq!(
        format!("{qr:?}"),
        format!("QrCode {{ width: {}, .. }}", qr.width())
    );
    assert!(!qr.is_dark(qr.width(), 0));
}

#[test]
fn enrollment_bundle() {
    let e = Enrollment::generate("Example Co", "alice@example.com").unwrap();
    let key = KeyUri::parse(e.uri().as_str()).unwrap();
    assert_eq!(&key, e.key());
    assert_eq!(key.secret().bits(), 160);
    assert_eq!(
        decode_png(&e.qr().to_png().unwrap()),
        vec![e.uri().as_str().to_owned()]
    );
    let typed = e.secret_for_typing();
    assert_eq!(typed.split(' ').count(), 8);
    assert!(typed.split(' ').all(|g| g.len() == 4));
    assert_eq!(Secret::from_base32(&typed).unwrap(), *key.secret());
    assert!(!format!("{e:?}").contains(&key.secret().to_base32()[..8]));

    let legacy = KeyUri::parse("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP").unwrap();
    assert!(matches!(
        Enrollment::for_key(legacy),
        Err(Error::InvalidSecret(mfa_otp::Error::SecretTooShort {
            bits: 80,
            required: 128
        }))
    ));
    // Two enrollments never share a secret.
    assert_ne!(
        Enrollment::generate("a", "b").unwrap().key(),
        Enrollment::generate("a", "b").unwrap().key()
    );
}
