use core::fmt;

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;

/// The fewest letters a generated app password may have: 12 letters are 56.4 bits.
pub const MIN_LENGTH: usize = 12;
/// The most letters a generated app password may have.
pub const MAX_LENGTH: usize = 64;

/// How generated app passwords look: `length` lowercase letters `a`-`z`, shown in groups of `group`
/// letters separated by single spaces (`group` 0: one block without spaces).
///
/// The default is the common format of large providers, 16 letters in four groups of four
/// (`"abcd efgh ijkl mnop"`): 16 × log2(26) = 75.2 bits of entropy.
///
/// ```
/// use mfa_app_password::Format;
///
/// let format = Format::new(20, 5)?;
/// assert_eq!(format.bits(), 94);
/// assert!(Format::new(8, 4).is_err()); // too short to resist offline guessing
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FormatRepr", into = "FormatRepr")]
pub struct Format {
    length: usize,
    group: usize,
}

#[derive(Serialize, Deserialize)]
struct FormatRepr {
    length: usize,
    group: usize,
}

impl TryFrom<FormatRepr> for Format {
    type Error = Error;
    fn try_from(r: FormatRepr) -> Result<Self, Error> {
        Format::new(r.length, r.group)
    }
}

impl From<Format> for FormatRepr {
    fn from(f: Format) -> Self {
        FormatRepr {
            length: f.length,
            group: f.group,
        }
    }
}

impl Default for Format {
    fn default() -> Self {
        Format { length: 16, group: 4 }
    }
}

impl Format {
    /// A format of `length` letters ([`MIN_LENGTH`] to [`MAX_LENGTH`]) shown in groups of `group` (0 for no
    /// grouping, else 2 to `length`).
    pub fn new(length: usize, group: usize) -> Result<Self, Error> {
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
            return Err(Error::InvalidFormat {
                reason: "length must be 12 to 64 letters",
            });
        }
        if group == 1 || group > length {
            return Err(Error::InvalidFormat {
                reason: "group must be 0 (none) or 2 to the length",
            });
        }
        Ok(Format { length, group })
    }

    /// Letters per app password.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Letters per displayed group (0: no grouping).
    pub fn group(&self) -> usize {
        self.group
    }

    /// Entropy in whole bits: `floor(length × log2 26)`.
    pub fn bits(&self) -> u32 {
        // log2(26) = 4.7004397...; exact enough in fixed point for lengths up to 64.
        ((self.length as u64 * 47_004_397) / 10_000_000) as u32
    }

    fn shown_len(&self) -> usize {
        match self.group {
            0 => self.length,
            g => self.length + (self.length - 1) / g,
        }
    }
}

/// A newly generated app password: the only value that ever carries its plaintext.
///
/// Show it to the user once ([`expose`](Self::expose)), then drop it: it zeroizes on drop, `Debug` prints
/// nothing of it, it is neither `Clone` nor serializable. What the service stores is an
/// [`AppPasswordRecord`](crate::AppPasswordRecord), which holds only a hash.
///
/// ```
/// use mfa_app_password::{AppPassword, Format};
///
/// let password = AppPassword::generate(Format::default())?;
/// let shown = password.expose();
/// assert_eq!(shown.len(), 19); // "abcd efgh ijkl mnop"
/// assert!(shown.split(' ').all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_lowercase())));
/// assert_eq!(format!("{password:?}"), "AppPassword { letters: 16, .. }");
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
pub struct AppPassword {
    shown: Zeroizing<String>,
    letters: usize,
}

impl AppPassword {
    /// A new app password from the operating system's CSPRNG.
    pub fn generate(format: Format) -> Result<Self, Error> {
        Self::generate_from(format, |buf| {
            getrandom::fill(buf).map_err(|_| Error::RandomUnavailable)
        })
    }

    /// A new app password from `rng`, which must be a CSPRNG.
    pub fn generate_with<R: CryptoRng + ?Sized>(format: Format, rng: &mut R) -> Result<Self, Error> {
        Self::generate_from(format, |buf| {
            rng.fill_bytes(buf);
            Ok(())
        })
    }

    fn generate_from(
        format: Format,
        mut fill: impl FnMut(&mut [u8]) -> Result<(), Error>,
    ) -> Result<Self, Error> {
        // Rejection sampling: a byte below 234 = 9 × 26 maps to a letter with probability exactly 1/26;
        // bytes 234..=255 are discarded, so no letter is more likely than another (no modulo bias).
        const LIMIT: u8 = 234;
        let mut shown = Zeroizing::new(String::with_capacity(format.shown_len()));
        let mut random = Zeroizing::new([0u8; 64]);
        let mut letters = 0;
        // 64 random bytes give 58.5 letters on average; needing more than 16 rounds for at most 64 letters
        // means the generator is broken (it yields only rejected bytes), not unlucky.
        let mut rounds = 0;
        while letters < format.length {
            rounds += 1;
            if rounds > 16 {
                return Err(Error::RandomUnavailable);
            }
            fill(&mut random[..])?;
            for &b in random.iter() {
                if letters == format.length {
                    break;
                }
                if b < LIMIT {
                    if format.group != 0 && letters != 0 && letters % format.group == 0 {
                        shown.push(' ');
                    }
                    shown.push(char::from(b'a' + b % 26));
                    letters += 1;
                }
            }
        }
        Ok(AppPassword { shown, letters })
    }

    /// The app password as shown to the user, groups separated by single spaces. Handle with care: this is
    /// the credential.
    pub fn expose(&self) -> &str {
        &self.shown
    }

    /// The number of letters (separators not counted).
    pub fn letters(&self) -> usize {
        self.letters
    }
}

impl fmt::Debug for AppPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppPassword {{ letters: {}, .. }}", self.letters)
    }
}
