//! Shared checks of outside input: display text, base64url, JSON bodies, versions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::{Error, MAX_BODY_BYTES, PROTOCOL_VERSION};

/// Bidirectional formatting characters: they can reorder how the rest of a line is displayed (a label
/// that reads "moc.elpmaxe" backwards), so display text may not hold them (Unicode TR #9).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Text shown to a person: at most `max` bytes of UTF-8, no control or bidirectional formatting
/// characters; empty only when `may_be_empty`.
pub(crate) fn display_text(
    text: &str,
    what: &'static str,
    max: usize,
    may_be_empty: bool,
) -> Result<(), Error> {
    if text.is_empty() && !may_be_empty {
        return Err(Error::Malformed {
            what,
            reason: "empty",
        });
    }
    if text.len() > max {
        return Err(Error::Malformed {
            what,
            reason: "too long",
        });
    }
    if text.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(Error::Malformed {
            what,
            reason: "holds a control or bidirectional formatting character",
        });
    }
    Ok(())
}

/// Base64url without padding (RFC 4648 §5), as every binary value is written.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Exactly `N` bytes from canonical unpadded base64url (no padding, no other alphabet, unused bits zero).
pub(crate) fn b64_fixed<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], Error> {
    let wrong = Error::Malformed {
        what,
        reason: "not the base64url (unpadded) of a value of the right length",
    };
    if text.len() != (N * 4).div_ceil(3) {
        return Err(wrong);
    }
    let mut out = [0u8; N];
    match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
        Ok(n) if n == N => Ok(out),
        _ => Err(wrong),
    }
}

/// Base64url of at most `max` bytes.
pub(crate) fn b64_vec(text: &str, what: &'static str, max: usize) -> Result<Vec<u8>, Error> {
    if text.len() > (max * 4).div_ceil(3) {
        return Err(Error::Malformed {
            what,
            reason: "too long",
        });
    }
    URL_SAFE_NO_PAD.decode(text).map_err(|_| Error::Malformed {
        what,
        reason: "not unpadded base64url",
    })
}

/// A JSON body into its wire struct, refusing it unread above [`MAX_BODY_BYTES`].
pub(crate) fn json<'a, T: Deserialize<'a>>(body: &'a [u8], what: &'static str) -> Result<T, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::TooLarge { max: MAX_BODY_BYTES });
    }
    // serde_json's messages can quote the input; they are not passed on.
    serde_json::from_slice(body).map_err(|_| Error::Malformed {
        what,
        reason: "not a JSON object with members of the expected types (or a member twice)",
    })
}

/// A required member.
pub(crate) fn required<T>(value: Option<T>, what: &'static str) -> Result<T, Error> {
    value.ok_or(Error::Malformed {
        what,
        reason: "missing",
    })
}

/// The `v` member: present and 1.
pub(crate) fn version(v: Option<i64>) -> Result<(), Error> {
    match v {
        None => Err(Error::Malformed {
            what: "v",
            reason: "missing",
        }),
        Some(v) if v == i64::from(PROTOCOL_VERSION) => Ok(()),
        Some(_) => Err(Error::UnsupportedVersion),
    }
}

/// Serialises a wire struct; ours have only strings and integers, which always serialise.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_text_rules() {
        assert!(display_text("Alice — Paris", "t", 64, false).is_ok());
        assert!(display_text("", "t", 64, true).is_ok());
        assert!(display_text("", "t", 64, false).is_err());
        assert!(display_text("a\nb", "t", 64, false).is_err());
        assert!(display_text("evil\u{202E}moc", "t", 64, false).is_err());
        assert!(display_text(&"x".repeat(65), "t", 64, false).is_err());
    }

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64_fixed::<2>("AAE", "x"), Ok([0, 1]));
        assert!(b64_fixed::<2>("AAF", "x").is_err()); // unused bits set
        assert!(b64_fixed::<2>("AAE=", "x").is_err()); // padding
        assert!(b64_fixed::<2>("AA+", "x").is_err()); // standard alphabet
        assert!(b64_fixed::<3>("AAE", "x").is_err()); // wrong length
    }
}
