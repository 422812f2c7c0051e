//! Loading a [`KeyRing`] or a [`TagSecret`] from text: an environment variable, a file or a string.
//!
//! The format is in the crate docs (README, "Keys"). Errors say where the text came from and what was
//! wrong with it, and never quote it: no part of a key reaches a message.

use std::path::Path;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::{Error, KEY_BYTES, KeyId, KeyRing, TagSecret};

const RING: &str = "key ring";
const TAG_SECRET: &str = "tag secret";

/// Where text was read from, for messages.
enum Source<'a> {
    Env(&'a str),
    File(&'a Path),
    Text,
}

impl Source<'_> {
    fn describe(&self) -> String {
        match self {
            Source::Env(var) => format!("environment variable {var}"),
            Source::File(path) => format!("file {}", path.display()),
            Source::Text => "text".to_owned(),
        }
    }

    fn fail(&self, what: &'static str, reason: impl Into<String>) -> Error {
        Error::KeyLoad {
            what,
            from: self.describe(),
            reason: reason.into(),
        }
    }

    /// The text of an environment variable or file, zeroized when dropped.
    fn read(&self, what: &'static str) -> Result<Zeroizing<String>, Error> {
        match self {
            Source::Env(var) => match std::env::var_os(var) {
                None => Err(self.fail(what, "it is not set")),
                Some(value) => value
                    .into_string()
                    .map(Zeroizing::new)
                    .map_err(|_| self.fail(what, "it is not valid UTF-8")),
            },
            Source::File(path) => {
                let bytes = Zeroizing::new(
                    std::fs::read(path).map_err(|e| self.fail(what, format!("it cannot be read: {e}")))?,
                );
                match std::str::from_utf8(&bytes) {
                    Ok(text) => Ok(Zeroizing::new(text.to_owned())),
                    Err(_) => Err(self.fail(what, "it is not valid UTF-8")),
                }
            }
            // Text is parsed as given.
            Source::Text => Ok(Zeroizing::new(String::new())),
        }
    }
}

impl KeyRing {
    /// The key ring in the environment variable `var`: `ID:KEY` entries, the current key first,
    /// separated by commas (see the crate docs, "Keys").
    ///
    /// ```no_run
    /// use mfa::KeyRing;
    ///
    /// // MFA_KEYS="2:AgIC...AgI=,1:AQEB...AQE=" (entries from `mfa key new --id 2`)
    /// let ring = KeyRing::from_env("MFA_KEYS")?;
    /// # Ok::<(), mfa::Error>(())
    /// ```
    ///
    /// ```
    /// let missing = mfa::KeyRing::from_env("MFA_NO_SUCH_VARIABLE").unwrap_err();
    /// assert_eq!(
    ///     missing.to_string(),
    ///     "cannot load the key ring from environment variable MFA_NO_SUCH_VARIABLE: it is not set"
    /// );
    /// ```
    pub fn from_env(var: &str) -> Result<Self, Error> {
        let from = Source::Env(var);
        parse_ring(&from.read(RING)?, &from)
    }

    /// The key ring in the file at `path`, in the format of [`from_env`](Self::from_env); entries may
    /// also be on lines of their own, and `#` starts a comment.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let from = Source::File(path.as_ref());
        parse_ring(&from.read(RING)?, &from)
    }

    /// The key ring written as [`from_env`](Self::from_env) reads it, from a string you got elsewhere
    /// (a secrets manager's API).
    ///
    /// ```
    /// use mfa::KeyRing;
    ///
    /// let hex = "1:4242424242424242424242424242424242424242424242424242424242424242";
    /// assert_eq!(KeyRing::parse(hex)?.current_id(), mfa::KeyId(1));
    /// let short = KeyRing::parse("1:QUJD").unwrap_err();
    /// assert_eq!(
    ///     short.to_string(),
    ///     "cannot load the key ring from text: key 1 is 3 bytes long; a key of the ring is 32 bytes"
    /// );
    /// # Ok::<(), mfa::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, Error> {
        parse_ring(text, &Source::Text)
    }
}

impl TagSecret {
    /// The tag secret in the environment variable `var`: 32 to 64 bytes in base64 or hexadecimal (see
    /// the crate docs, "Keys").
    ///
    /// ```no_run
    /// // MFA_TAG_SECRET="KioqKioq...Kio=" (from `mfa key new`)
    /// let secret = mfa::TagSecret::from_env("MFA_TAG_SECRET")?;
    /// # Ok::<(), mfa::Error>(())
    /// ```
    ///
    /// ```
    /// let error = mfa::TagSecret::parse("not a key").unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "cannot load the tag secret from text: expected one key (base64 or hexadecimal), found 3 words"
    /// );
    /// ```
    pub fn from_env(var: &str) -> Result<Self, Error> {
        let from = Source::Env(var);
        parse_tag_secret(&from.read(TAG_SECRET)?, &from)
    }

    /// The tag secret in the file at `path` (surrounding whitespace and `#` comments ignored).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let from = Source::File(path.as_ref());
        parse_tag_secret(&from.read(TAG_SECRET)?, &from)
    }

    /// The tag secret written as [`from_env`](Self::from_env) reads it.
    ///
    /// ```
    /// use mfa::TagSecret;
    ///
    /// let secret = TagSecret::parse("KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=")?;
    /// assert!(TagSecret::parse("KioqKioqKioq").is_err()); // 9 bytes
    /// # Ok::<(), mfa::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, Error> {
        parse_tag_secret(text, &Source::Text)
    }
}

/// The words of `text`: comments (from `#` to the end of a line) removed, split at commas and
/// whitespace.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
        .flat_map(|line| line.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|word| !word.is_empty())
}

fn parse_ring(text: &str, from: &Source<'_>) -> Result<KeyRing, Error> {
    let fail = |reason: String| from.fail(RING, reason);
    let mut ring: Option<KeyRing> = None;
    for (index, entry) in words(text).enumerate() {
        let number = index + 1;
        let Some((id, key)) = entry.split_once(':') else {
            return Err(fail(format!(
                "entry {number} is not ID:KEY (a key id, a colon and the key)"
            )));
        };
        let id = parse_id(id).ok_or_else(|| {
            fail(format!(
                "entry {number}: the key id is not a whole number from 0 to {}",
                u32::MAX
            ))
        })?;
        let key = decode(key).map_err(|reason| fail(format!("key {id}: {reason}")))?;
        if key.len() != KEY_BYTES {
            return Err(fail(format!(
                "key {id} is {} bytes long; a key of the ring is {KEY_BYTES} bytes",
                key.len()
            )));
        }
        ring = Some(match ring {
            None => KeyRing::new(id, &key)?,
            Some(ring) if ring.has_key(id) => return Err(fail(format!("key id {id} appears twice"))),
            Some(ring) => ring.with_previous(id, &key)?,
        });
    }
    ring.ok_or_else(|| fail("it holds no key; expected ID:KEY entries, the current key first".to_owned()))
}

fn parse_tag_secret(text: &str, from: &Source<'_>) -> Result<TagSecret, Error> {
    let fail = |reason: String| from.fail(TAG_SECRET, reason);
    let mut found = words(text);
    let (Some(word), None) = (found.next(), found.next()) else {
        let count = words(text).count();
        return Err(fail(format!(
            "expected one key (base64 or hexadecimal), found {count} words"
        )));
    };
    let key = decode(word).map_err(|reason| fail(reason.to_owned()))?;
    if !(32..=64).contains(&key.len()) {
        return Err(fail(format!(
            "it is {} bytes long; the tag secret is 32 to 64 bytes",
            key.len()
        )));
    }
    TagSecret::from_bytes(&key)
}

/// A key id: decimal digits only.
fn parse_id(text: &str) -> Option<KeyId> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().map(KeyId)
}

/// Hexadecimal if `text` is an even number of hexadecimal digits, else base64 (standard or URL-safe
/// alphabet, padding optional). A random base64 key is all hexadecimal digits with a probability
/// below 2^-60, so the two are not confused in practice.
fn decode(text: &str) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    if text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() / 2));
        for pair in text.as_bytes().chunks_exact(2) {
            let high = hex_digit(pair[0]);
            let low = hex_digit(pair[1]);
            bytes.push(high << 4 | low);
        }
        return Ok(bytes);
    }
    let url_safe = text.contains(['-', '_']);
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let engine = if url_safe {
        GeneralPurpose::new(&alphabet::URL_SAFE, config)
    } else {
        GeneralPurpose::new(&alphabet::STANDARD, config)
    };
    let mut bytes = Zeroizing::new(Vec::with_capacity(base64::decoded_len_estimate(text.len())));
    engine
        .decode_vec(text, &mut bytes)
        .map_err(|_| "it is neither base64 nor hexadecimal")?;
    Ok(bytes)
}

/// The value of an ASCII hexadecimal digit (checked by the caller).
fn hex_digit(b: u8) -> u8 {
    char::from(b).to_digit(16).map_or(0, |d| d as u8)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::CheckedKey;

    const KEY_1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="; // 32 bytes of 0x01
    const KEY_2_HEX: &str = "0202020202020202020202020202020202020202020202020202020202020202";

    fn message(error: Error) -> String {
        error.to_string()
    }

    #[test]
    fn a_ring_reads_base64_and_hex_entries_the_current_key_first() {
        let text = format!("2:{KEY_2_HEX},1:{KEY_1}");
        let ring = KeyRing::parse(&text).unwrap();
        assert_eq!(ring.current_id(), KeyId(2));
        assert_eq!(
            ring.key_checks(),
            KeyRing::new(KeyId(2), &[2; 32])
                .unwrap()
                .with_previous(KeyId(1), &[1; 32])
                .unwrap()
                .key_checks()
        );
        // Unpadded, URL-safe, on lines with comments and spaces: the same ring.
        let file_text = format!(
            "# rotated 2026-01-01\n 2:{KEY_2_HEX}   # current\n\n1:{}\n",
            KEY_1.trim_end_matches('=')
        );
        assert_eq!(
            KeyRing::parse(&file_text).unwrap().key_checks(),
            ring.key_checks()
        );
        let url_safe = KeyRing::parse("5:-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8").unwrap();
        assert_eq!(url_safe.current_id(), KeyId(5));
    }

    #[test]
    fn ring_errors_say_what_is_wrong_and_never_quote_the_key() {
        let cases = [
            (
                "",
                "it holds no key; expected ID:KEY entries, the current key first",
            ),
            (
                " # only a comment\n",
                "it holds no key; expected ID:KEY entries, the current key first",
            ),
            (KEY_1, "entry 1 is not ID:KEY (a key id, a colon and the key)"),
            (
                "x:AQEB",
                "entry 1: the key id is not a whole number from 0 to 4294967295",
            ),
            (
                "-1:AQEB",
                "entry 1: the key id is not a whole number from 0 to 4294967295",
            ),
            (
                "4294967296:AQEB",
                "entry 1: the key id is not a whole number from 0 to 4294967295",
            ),
            ("1:not*base64!", "key 1: it is neither base64 nor hexadecimal"),
            ("1:AQEBAQ", "key 1 is 4 bytes long; a key of the ring is 32 bytes"),
            ("1:0101", "key 1 is 2 bytes long; a key of the ring is 32 bytes"),
        ];
        for (text, reason) in cases {
            let error = KeyRing::parse(text).unwrap_err();
            assert!(matches!(error, Error::KeyLoad { what: "key ring", .. }), "{text}");
            assert_eq!(
                message(error),
                format!("cannot load the key ring from text: {reason}")
            );
        }
        let twice = KeyRing::parse(&format!("1:{KEY_1},3:{KEY_2_HEX},1:{KEY_2_HEX}")).unwrap_err();
        assert_eq!(
            message(twice),
            "cannot load the key ring from text: key id 1 appears twice"
        );
        let third = KeyRing::parse(&format!("1:{KEY_1},2:{KEY_2_HEX},3")).unwrap_err();
        let third = message(third);
        assert!(third.ends_with("entry 3 is not ID:KEY (a key id, a colon and the key)"));
        // A bad key is never echoed, whole or in part.
        let secretish = "7:SECRETSECRETSECRETSECRET";
        let error = message(KeyRing::parse(secretish).unwrap_err());
        assert!(!error.contains("SECRET"), "{error}");
    }

    #[test]
    fn tag_secrets_read_base64_and_hex() {
        let base64 = TagSecret::parse(&format!("  {KEY_1}\n")).unwrap();
        let hex = TagSecret::parse(&"01".repeat(32)).unwrap();
        assert_eq!(base64.key_check(), hex.key_check());
        assert_eq!(base64.key_check().key, CheckedKey::TagSecret);
        assert!(TagSecret::parse(&"ab".repeat(64)).is_ok());
        let cases = [
            ("", "expected one key (base64 or hexadecimal), found 0 words"),
            ("a b", "expected one key (base64 or hexadecimal), found 2 words"),
            ("%%%%", "it is neither base64 nor hexadecimal"),
            ("AQEB", "it is 3 bytes long; the tag secret is 32 to 64 bytes"),
        ];
        for (text, reason) in cases {
            let error = TagSecret::parse(text).unwrap_err();
            assert!(matches!(
                error,
                Error::KeyLoad {
                    what: "tag secret",
                    ..
                }
            ));
            assert_eq!(
                message(error),
                format!("cannot load the tag secret from text: {reason}")
            );
        }
        let long = message(TagSecret::parse(&"ab".repeat(65)).unwrap_err());
        assert!(long.ends_with("it is 65 bytes long; the tag secret is 32 to 64 bytes"));
    }

    #[test]
    fn files_are_read_and_their_errors_name_them() {
        let dir = std::env::temp_dir().join(format!("mfa-key-text-{}", crate::MethodId::generate().unwrap()));
        std::fs::create_dir(&dir).unwrap();
        let ring_file = dir.join("keys");
        std::fs::write(&ring_file, format!("2:{KEY_2_HEX}\n1:{KEY_1}\n")).unwrap();
        assert_eq!(KeyRing::from_file(&ring_file).unwrap().current_id(), KeyId(2));
        let tag_file = dir.join("tag-secret");
        std::fs::write(&tag_file, format!("{KEY_1}\n")).unwrap();
        assert!(TagSecret::from_file(&tag_file).is_ok());

        let missing = dir.join("missing");
        let error = message(KeyRing::from_file(&missing).unwrap_err());
        assert!(
            error.starts_with(&format!(
                "cannot load the key ring from file {}: it cannot be read: ",
                missing.display()
            )),
            "{error}"
        );
        std::fs::write(&tag_file, [0xff, 0xfe]).unwrap();
        let error = message(TagSecret::from_file(&tag_file).unwrap_err());
        assert_eq!(
            error,
            format!(
                "cannot load the tag secret from file {}: it is not valid UTF-8",
                tag_file.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
