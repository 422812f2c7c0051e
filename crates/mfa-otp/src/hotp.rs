use core::fmt;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::code::{check_digits, reduce};
use crate::mac::{KeyedMac, LANES};
use crate::{Algorithm, Code, Error, Secret};

/// Settings of an HOTP credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HotpParams {
    /// HMAC hash function; SHA-1 unless the app is known to support others.
    pub algorithm: Algorithm,
    /// Digits per code, 6 to 10.
    pub digits: u8,
}

impl Default for HotpParams {
    /// SHA-1, 6 digits: what every authenticator app supports.
    fn default() -> Self {
        HotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
        }
    }
}

/// An HOTP generator and verifier (RFC 4226), keyed once.
///
/// Building it hashes the key into HMAC's inner and outer states; every code afterwards costs two
/// compressions and no allocation. The state is key-equivalent: it zeroizes on drop and `Debug` hides it.
///
/// ```
/// use mfa_otp::{Code, Hotp, HotpParams, Secret};
///
/// // RFC 4226 Appendix D.
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let hotp = Hotp::new(&secret, HotpParams::default())?;
/// assert_eq!(hotp.generate(1).to_string(), "287082");
///
/// // The server expects counter 0; the user pressed the button twice, so counter 1 arrives.
/// // The look-ahead window accepts it; store `matched + 1` as the next expected counter.
/// assert_eq!(hotp.verify(&Code::parse("287082")?, 0, 10), Some(1));
/// # Ok::<(), mfa_otp::Error>(())
/// ```
#[derive(Clone)]
pub struct Hotp {
    mac: KeyedMac,
    digits: u8,
}

impl Hotp {
    /// Keys an HOTP instance. Fails on a digit count outside 6 to 10.
    pub fn new(secret: &Secret, params: HotpParams) -> Result<Self, Error> {
        let digits = check_digits(params.digits)?;
        Ok(Hotp {
            mac: KeyedMac::new(params.algorithm, secret.expose_bytes()),
            digits,
        })
    }

    /// The settings this instance was built with.
    pub fn params(&self) -> HotpParams {
        HotpParams {
            algorithm: self.mac.algorithm(),
            digits: self.digits,
        }
    }

    /// The code for `counter`.
    #[inline]
    pub fn generate(&self, counter: u64) -> Code {
        Code::from_truncated(self.mac.truncated(counter), self.digits)
    }

    /// Checks `code` against counters `counter ..= counter + look_ahead` (RFC 4226 section 7.2) and returns
    /// the matching counter. The next expected counter is the returned one plus one; storing it is what
    /// makes the code single-use.
    ///
    /// Every counter in the window is computed and compared in constant time, so the time taken does not
    /// depend on whether or where the code matched.
    #[must_use]
    pub fn verify(&self, code: &Code, counter: u64, look_ahead: u16) -> Option<u64> {
        scan(
            &self.mac,
            self.digits,
            code,
            counter,
            counter.saturating_add(u64::from(look_ahead)),
        )
    }

    /// Resynchronises a counter that drifted beyond the look-ahead window from two consecutive codes
    /// (RFC 4226 section 7.4): finds `c` in `counter ..= counter + look_ahead` with `first` at `c` and
    /// `second` at `c + 1`, and returns `c + 1`, the counter of `second`. The next expected counter is the
    /// returned one plus one. Constant time over the window like [`verify`](Self::verify).
    #[must_use]
    pub fn resync(&self, first: &Code, second: &Code, counter: u64, look_ahead: u16) -> Option<u64> {
        // `c + 1` must exist, so the last `c` is at most u64::MAX - 1.
        let end = counter.saturating_add(u64::from(look_ahead)).min(u64::MAX - 1);
        let mut found = Choice::from(0);
        let mut matched = 0u64;
        let mut previous_is_first = self.generate(counter).ct_eq(first);
        let mut c = counter;
        while c <= end {
            let next = c + 1;
            let code = self.generate(next);
            let hit = previous_is_first & code.ct_eq(second);
            matched.conditional_assign(&next, hit);
            found |= hit;
            previous_is_first = code.ct_eq(first);
            c = next;
        }
        Option::<u64>::from(subtle::CtOption::new(matched, found))
    }
}

/// Constant-time search of counters `start ..= end` for `code`; shared with TOTP.
#[inline]
pub(crate) fn scan(mac: &KeyedMac, digits: u8, code: &Code, start: u64, end: u64) -> Option<u64> {
    if start > end {
        return None;
    }
    // A code of another length never matches; its length is not secret.
    let length_matches = code.digits().ct_eq(&digits);
    let wanted = code.value();
    let mut found = Choice::from(0);
    let mut matched = 0u64;
    let mut first = start;
    loop {
        let count = (end - first).min(LANES as u64 - 1) as usize + 1;
        let values = mac.truncated_lanes(first, count);
        for (i, &value) in values.iter().enumerate().take(count) {
            let counter = first + i as u64;
            let hit = reduce(value, digits).ct_eq(&wanted) & length_matches;
            matched.conditional_assign(&counter, hit);
            found |= hit;
        }
        let last = first + (count as u64 - 1);
        if last >= end {
            break;
        }
        first = last + 1;
    }
    Option::<u64>::from(subtle::CtOption::new(matched, found))
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("params", &self.params())
            .finish_non_exhaustive()
    }
}
