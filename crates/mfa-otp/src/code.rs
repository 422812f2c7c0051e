use core::fmt;
use core::str::FromStr;

use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;

/// Fewest digits a code may have (RFC 4226 section 5.3).
pub const MIN_DIGITS: u8 = 6;
/// Most digits a code may have: a 31-bit truncated value has at most 10.
pub const MAX_DIGITS: u8 = 10;

/// The last `digits` decimal digits of a 31-bit truncated value (RFC 4226 section 5.3, step 3).
/// One arm per digit count so each modulus is a constant (a multiply, not a division).
#[inline(always)]
pub(crate) fn reduce(truncated: u32, digits: u8) -> u64 {
    u64::from(match digits {
        6 => truncated % 1_000_000,
        7 => truncated % 10_000_000,
        8 => truncated % 100_000_000,
        9 => truncated % 1_000_000_000,
        // 31 bits are fewer than 10 digits.
        _ => truncated,
    })
}

pub(crate) fn check_digits(digits: u8) -> Result<u8, Error> {
    if (MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
        Ok(digits)
    } else {
        Err(Error::UnsupportedDigits { digits })
    }
}

/// A one-time code: 6 to 10 decimal digits.
///
/// Generated codes print zero-padded (`Display`); codes typed by a person are read leniently with
/// [`Code::parse`]. `Debug` hides the digits; equality is constant time; the value zeroizes on drop.
///
/// ```
/// use mfa_otp::Code;
///
/// let typed = Code::parse(" 012-345 ")?;
/// assert_eq!(typed.to_string(), "012345");
/// assert_eq!(format!("{typed:?}"), "Code(******)");
/// assert_eq!(typed, Code::parse("012 345")?);
/// assert!(Code::parse("12345a").is_err());
/// # Ok::<(), mfa_otp::Error>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Code {
    value: u64,
    digits: u8,
}

impl Code {
    /// The code for a truncated HOTP value (RFC 4226 section 5.3, step 3).
    #[inline]
    pub(crate) fn from_truncated(truncated: u32, digits: u8) -> Self {
        Code {
            value: reduce(truncated, digits),
            digits,
        }
    }

    /// Reads a code as a person types it: digits, optionally grouped by single spaces or dashes
    /// ("123 456", "123-456"), surrounding white space ignored. Anything else is refused.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let bytes = input.as_bytes();
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        let end = bytes
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(start, |i| i + 1);
        let mut value: u64 = 0;
        let mut digits = 0usize;
        let mut previous_was_digit = false;
        for (i, &b) in bytes[start..end].iter().enumerate() {
            match b {
                b'0'..=b'9' => {
                    digits += 1;
                    if digits > usize::from(MAX_DIGITS) {
                        return Err(Error::InvalidCodeLength { digits });
                    }
                    value = value * 10 + u64::from(b - b'0');
                    previous_was_digit = true;
                }
                b' ' | b'-' if previous_was_digit => previous_was_digit = false,
                _ => return Err(Error::InvalidCodeCharacter { position: start + i }),
            }
        }
        if digits < usize::from(MIN_DIGITS) {
            return Err(Error::InvalidCodeLength { digits });
        }
        // A trailing separator was consumed by `end`'s trim only if it was white space; a dash is not.
        if !previous_was_digit {
            return Err(Error::InvalidCodeCharacter { position: end - 1 });
        }
        Ok(Code {
            value,
            digits: digits as u8,
        })
    }

    /// The digits as a number, for comparison against computed codes.
    #[inline]
    pub(crate) fn value(&self) -> u64 {
        self.value
    }

    /// Number of digits.
    pub fn digits(&self) -> u8 {
        self.digits
    }
}

impl FromStr for Code {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Code::parse(s)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MAX_DIGITS as usize];
        let n = usize::from(self.digits);
        let mut v = self.value;
        for slot in buf[..n].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let text = core::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error);
        let result = text.and_then(|t| f.write_str(t));
        buf.zeroize();
        result
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(")?;
        for _ in 0..self.digits {
            f.write_str("*")?;
        }
        f.write_str(")")
    }
}

impl ConstantTimeEq for Code {
    #[inline]
    fn ct_eq(&self, other: &Self) -> Choice {
        self.value.ct_eq(&other.value) & self.digits.ct_eq(&other.digits)
    }
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Code {}
