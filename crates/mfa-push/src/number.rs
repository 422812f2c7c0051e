use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::Error;

/// How many digits the number of number matching has: 2 (the default, 90 numbers) or 3 (900).
///
/// ```
/// use mfa_push::Digits;
///
/// assert_eq!(Digits::default(), Digits::Two);
/// assert_eq!(Digits::Three.count(), 3);
/// assert_eq!(Digits::try_from(2)?, Digits::Two);
/// assert!(Digits::try_from(4).is_err());
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum Digits {
    /// 10 to 99.
    #[default]
    Two,
    /// 100 to 999.
    Three,
}

impl Digits {
    /// 2 or 3.
    pub const fn count(self) -> usize {
        match self {
            Digits::Two => 2,
            Digits::Three => 3,
        }
    }

    /// The smallest number and how many there are: 10 and 90, or 100 and 900.
    const fn range(self) -> (u16, u16) {
        match self {
            Digits::Two => (10, 90),
            Digits::Three => (100, 900),
        }
    }
}

impl TryFrom<i64> for Digits {
    type Error = Error;
    fn try_from(n: i64) -> Result<Self, Error> {
        match n {
            2 => Ok(Digits::Two),
            3 => Ok(Digits::Three),
            _ => Err(Error::Malformed {
                what: "digits",
                reason: "must be 2 or 3",
            }),
        }
    }
}

impl From<Digits> for i64 {
    fn from(d: Digits) -> i64 {
        d.count() as i64
    }
}

/// The number the sign-in page shows and the user types on the device: uniform among the numbers of
/// its [`Digits`] without a leading zero (10 to 99, or 100 to 999), so what is shown is what is typed.
///
/// It never goes to the device. The service keeps it with the challenge (serialised as its decimal
/// text, `"42"`) and compares what the device sends with [`matches`](Self::matches), in constant
/// time. `Debug` does not show it: it belongs on the sign-in page only.
///
/// ```
/// use mfa_push::{Digits, MatchNumber, TypedNumber};
///
/// let number = MatchNumber::generate(Digits::Two)?;
/// let shown = number.to_string();
/// assert_eq!(shown.len(), 2);
/// assert!(number.matches(&shown.parse::<TypedNumber>()?));
/// assert_eq!(format!("{number:?}"), "MatchNumber { digits: Two, .. }");
///
/// let fixed: MatchNumber = "42".parse()?;
/// assert!(!fixed.matches(&"042".parse()?)); // the digit count matters too
/// assert!("07".parse::<MatchNumber>().is_err());
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MatchNumber {
    value: u16,
    digits: Digits,
}

impl MatchNumber {
    /// A new number from the operating system's CSPRNG.
    pub fn generate(digits: Digits) -> Result<Self, Error> {
        Self::generate_from(digits, |buf| {
            getrandom::fill(buf).map_err(|_| Error::RandomUnavailable)
        })
    }

    /// Rejection sampling: a 16-bit draw below the largest multiple of the range's size maps to each
    /// number equally often (no modulo bias); a draw above it is discarded.
    pub(crate) fn generate_from(
        digits: Digits,
        mut fill: impl FnMut(&mut [u8]) -> Result<(), Error>,
    ) -> Result<Self, Error> {
        let (low, size) = digits.range();
        let limit = u32::from(u16::MAX) + 1;
        let accept_below = limit - limit % u32::from(size);
        // Each draw is accepted with probability above 0.98; 32 rejections in a row mean a broken
        // generator, not bad luck.
        for _ in 0..32 {
            let mut draw = [0u8; 2];
            fill(&mut draw)?;
            let draw = u32::from(u16::from_be_bytes(draw));
            if draw < accept_below {
                let offset = (draw % u32::from(size)) as u16;
                return Ok(MatchNumber {
                    value: low + offset,
                    digits,
                });
            }
        }
        Err(Error::RandomUnavailable)
    }

    /// Its number of digits.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// Whether the device sent this number, compared in constant time (value and digit count).
    pub fn matches(&self, typed: &TypedNumber) -> bool {
        let value = self.value.ct_eq(&typed.value);
        let len = (self.digits.count() as u8).ct_eq(&typed.len);
        (value & len).into()
    }
}

/// The decimal text shown on the sign-in page.
impl fmt::Display for MatchNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

impl fmt::Debug for MatchNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchNumber")
            .field("digits", &self.digits)
            .finish_non_exhaustive()
    }
}

/// Reads a stored number back: 2 or 3 digits, no leading zero.
impl FromStr for MatchNumber {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let typed: TypedNumber = s.parse()?;
        let digits = if typed.len == 2 {
            Digits::Two
        } else {
            Digits::Three
        };
        if s.starts_with('0') {
            return Err(Error::Malformed {
                what: "number",
                reason: "a number of number matching has no leading zero",
            });
        }
        Ok(MatchNumber {
            value: typed.value,
            digits,
        })
    }
}

impl TryFrom<String> for MatchNumber {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<MatchNumber> for String {
    fn from(n: MatchNumber) -> String {
        n.to_string()
    }
}

/// The number the user typed on the device, as it is sent: 2 or 3 ASCII digits.
///
/// ```
/// use mfa_push::TypedNumber;
///
/// assert_eq!("42".parse::<TypedNumber>()?.as_str(), "42");
/// assert!("4".parse::<TypedNumber>().is_err());
/// assert!("4 2".parse::<TypedNumber>().is_err());
/// assert!("١٢".parse::<TypedNumber>().is_err()); // ASCII digits only
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypedNumber {
    value: u16,
    len: u8,
    text: [u8; 3],
}

impl TypedNumber {
    /// The digits as typed.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        core::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl FromStr for TypedNumber {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bytes = s.as_bytes();
        if !(2..=3).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(Error::Malformed {
                what: "number",
                reason: "must be 2 or 3 digits 0-9",
            });
        }
        let mut text = [0u8; 3];
        text[..bytes.len()].copy_from_slice(bytes);
        let value = bytes.iter().fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
        Ok(TypedNumber {
            value,
            len: bytes.len() as u8,
            text,
        })
    }
}

impl fmt::Display for TypedNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TypedNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypedNumber({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_is_equally_likely() {
        // Feed every 16-bit draw once: accepted draws must hit each number the same number of times.
        for digits in [Digits::Two, Digits::Three] {
            let (low, size) = digits.range();
            let mut counts = vec![0u32; usize::from(size)];
            let mut rejected = 0;
            for draw in 0..=u16::MAX {
                let mut given = false;
                let result = MatchNumber::generate_from(digits, |buf| {
                    if given {
                        return Err(Error::RandomUnavailable);
                    }
                    given = true;
                    buf.copy_from_slice(&draw.to_be_bytes());
                    Ok(())
                });
                match result {
                    Ok(n) => counts[usize::from(n.value - low)] += 1,
                    Err(_) => rejected += 1,
                }
            }
            let first = counts[0];
            assert!(counts.iter().all(|&c| c == first), "{digits:?}");
            assert_eq!(rejected, 65536 % u32::from(size));
        }
    }

    #[test]
    fn a_generator_of_rejected_draws_fails() {
        let result = MatchNumber::generate_from(Digits::Two, |buf| {
            buf.fill(0xff);
            Ok(())
        });
        assert_eq!(result, Err(Error::RandomUnavailable));
    }
}
