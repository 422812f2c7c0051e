use core::fmt;
use core::fmt::Write as _;
use std::string::String;
use std::vec::Vec;

use base64::Engine as _;
use qrcode::{Color, EcLevel};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{Error, SecretUri};

/// Light modules around the code on every side: 4, the minimum of ISO/IEC 18004 (section 6.3.8).
pub const QUIET_ZONE: usize = 4;

/// Pixels per module of [`QrCode::to_png`]: a 41-module code (with its quiet zone) becomes 392 pixels wide.
pub const DEFAULT_PNG_SCALE: u32 = 8;

/// Which way round the terminal draws: its background colour decides which modules get the block glyphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TerminalTheme {
    /// Light text on a dark background (most terminals): light modules are drawn with blocks.
    #[default]
    DarkBackground,
    /// Dark text on a light background: dark modules are drawn with blocks.
    LightBackground,
}

/// A QR code, made here from the text, without any service: the secret never leaves the process.
///
/// Error-correction level M (ISO/IEC 18004: about 15 % of the codewords can be restored). L (7 %) fails
/// too easily on a glossy screen photographed at an angle; Q and H make an otpauth URI's code denser
/// (more, smaller modules) and so harder for a phone to focus on, while a screen does not get dirty or
/// torn. The outputs carry a quiet zone of [`QUIET_ZONE`] modules.
///
/// The module matrix, and every rendering of it, encodes the secret: the matrix zeroizes on drop, the
/// renderings come back in [`Zeroizing`] wrappers, and `Debug` shows only the size. (The `qrcode` crate's
/// own intermediate buffers are not zeroized.)
///
/// ```
/// use mfa_enroll::{KeyUri, QrCode, TerminalTheme};
/// use mfa_otp::Secret;
///
/// let uri = KeyUri::totp(Secret::generate()?, "alice@example.com").with_issuer("Example").to_uri()?;
/// let qr = QrCode::from_uri(&uri)?;
/// assert!(qr.to_svg().starts_with("<svg"));
/// assert!(qr.to_png()?.starts_with(b"\x89PNG"));
/// assert!(qr.to_data_url()?.starts_with("data:image/png;base64,"));
/// print!("{}", qr.to_terminal(TerminalTheme::DarkBackground).as_str());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct QrCode {
    width: usize,
    /// Row-major, 1 for a dark module.
    modules: Vec<u8>,
}

impl fmt::Debug for QrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QrCode {{ width: {}, .. }}", self.width)
    }
}

impl QrCode {
    /// The QR code of a Key URI or export URI.
    pub fn from_uri(uri: &SecretUri) -> Result<Self, Error> {
        Self::encode(uri.as_str())
    }

    /// The QR code of any text (byte mode, level M).
    pub fn encode(text: &str) -> Result<Self, Error> {
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|_| Error::QrTooLong)?;
        let width = code.width();
        let mut colors = code.into_colors();
        let modules = colors.iter().map(|&c| u8::from(c == Color::Dark)).collect();
        colors.iter_mut().for_each(|c| *c = Color::Light);
        Ok(QrCode { width, modules })
    }

    /// Modules per side, without the quiet zone (21 for version 1, 4 more per version).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` (without the quiet zone) is dark; outside is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules[y * self.width + x] == 1
    }

    /// Dark at `(x, y)` counted from the outer corner of the quiet zone.
    fn dark_with_margin(&self, x: usize, y: usize) -> bool {
        x >= QUIET_ZONE && y >= QUIET_ZONE && self.is_dark(x - QUIET_ZONE, y - QUIET_ZONE)
    }

    fn full_width(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// An SVG document [`DEFAULT_PNG_SCALE`] pixels per module wide and high (as the PNG): one unit
    /// per module in its `viewBox`, white background, black modules, crisp edges, each row's run of
    /// dark modules one path segment. Set another `width`/`height` where it is embedded to scale it.
    ///
    /// [`Zeroizing<String>`](Zeroizing) serialises as the string, so the SVG (and
    /// [`to_data_url`](Self::to_data_url)) go straight into a JSON response. The JSON value holds a copy
    /// that is not zeroized: build it for the response and drop it.
    ///
    /// ```
    /// use mfa_enroll::Enrollment;
    ///
    /// let enrollment = Enrollment::generate("Example", "alice@example.com")?;
    /// let body = serde_json::json!({
    ///     "qr": enrollment.qr().to_svg(),
    ///     "img_src": enrollment.qr().to_data_url()?,
    ///     "key": enrollment.secret_for_typing(),
    /// });
    /// assert!(body["qr"].as_str().is_some_and(|svg| svg.starts_with("<svg")));
    /// assert!(body["img_src"].as_str().is_some_and(|url| url.starts_with("data:image/png;base64,")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_svg(&self) -> Zeroizing<String> {
        self.svg(DEFAULT_PNG_SCALE as usize)
    }

    /// [`to_svg`](Self::to_svg) with `scale` (1 to 64) pixels per module as its `width` and `height`.
    pub fn to_svg_scaled(&self, scale: u32) -> Result<Zeroizing<String>, Error> {
        if !(1..=64).contains(&scale) {
            return Err(Error::InvalidScale);
        }
        Ok(self.svg(scale as usize))
    }

    fn svg(&self, scale: usize) -> Zeroizing<String> {
        let size = self.full_width();
        let px = size * scale;
        let dark = self.modules.iter().filter(|&&m| m == 1).count();
        let mut out = Zeroizing::new(String::with_capacity(300 + dark * 16));
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{px}\" height=\"{px}\" \
             viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
             <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\""
        );
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && self.is_dark(x, y) {
                    x += 1;
                }
                let run = x - start;
                let _ = write!(out, "M{},{}h{run}v1h-{run}z", start + QUIET_ZONE, y + QUIET_ZONE);
            }
        }
        out.push_str("\"/></svg>\n");
        out
    }

    /// A black-and-white PNG (1-bit greyscale) with [`DEFAULT_PNG_SCALE`] pixels per module.
    pub fn to_png(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.to_png_scaled(DEFAULT_PNG_SCALE)
    }

    /// A black-and-white PNG (1-bit greyscale) with `scale` (1 to 64) pixels per module.
    pub fn to_png_scaled(&self, scale: u32) -> Result<Zeroizing<Vec<u8>>, Error> {
        if !(1..=64).contains(&scale) {
            return Err(Error::InvalidScale);
        }
        let scale = scale as usize;
        let side = self.full_width() * scale;
        let side_u32 = u32::try_from(side).map_err(|_| Error::Png)?;
        // One bit per pixel (1 = white), rows padded to whole bytes (PNG, ISO/IEC 15948, bit depth 1).
        let row_bytes = side.div_ceil(8);
        let mut pixels = Zeroizing::new(std::vec![0u8; row_bytes * side]);
        for py in 0..side {
            let row = &mut pixels[py * row_bytes..(py + 1) * row_bytes];
            for px in 0..side {
                if !self.dark_with_margin(px / scale, py / scale) {
                    row[px / 8] |= 0x80 >> (px % 8);
                }
            }
        }
        let mut out = Zeroizing::new(Vec::new());
        {
            let mut encoder = png::Encoder::new(&mut *out, side_u32, side_u32);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::One);
            let mut writer = encoder.write_header().map_err(|_| Error::Png)?;
            writer.write_image_data(&pixels).map_err(|_| Error::Png)?;
            writer.finish().map_err(|_| Error::Png)?;
        }
        Ok(out)
    }

    /// A `data:image/png;base64,...` URL of [`to_png`](Self::to_png), for an `<img src>` in HTML.
    pub fn to_data_url(&self) -> Result<Zeroizing<String>, Error> {
        let png = self.to_png()?;
        let prefix = "data:image/png;base64,";
        let mut out = Zeroizing::new(String::with_capacity(prefix.len() + png.len().div_ceil(3) * 4));
        out.push_str(prefix);
        base64::engine::general_purpose::STANDARD.encode_string(&*png, &mut out);
        Ok(out)
    }

    /// Text for a terminal: each character is one module wide and two high (Unicode half blocks `▀`,
    /// `▄`, `█`), so modules come out square in the usual 1:2 character cell; quiet zone included; one
    /// line per two module rows, each ending in `\n`.
    pub fn to_terminal(&self, theme: TerminalTheme) -> Zeroizing<String> {
        let size = self.full_width();
        let ink = |x: usize, y: usize| {
            let dark = y < size && self.dark_with_margin(x, y);
            match theme {
                TerminalTheme::DarkBackground => !dark,
                TerminalTheme::LightBackground => dark,
            }
        };
        let mut out = Zeroizing::new(String::with_capacity(size.div_ceil(2) * (size * 3 + 1)));
        for y in (0..size).step_by(2) {
            for x in 0..size {
                out.push(match (ink(x, y), ink(x, y + 1)) {
                    (true, true) => '\u{2588}',
                    (true, false) => '\u{2580}',
                    (false, true) => '\u{2584}',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}
