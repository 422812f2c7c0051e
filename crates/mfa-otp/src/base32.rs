//! Base32 (RFC 4648 section 6) the way people type secrets: either case, `=` padding optional, spaces and
//! dashes anywhere between characters. Encoding is canonical: uppercase, no padding.

use crate::Error;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Value of one base32 character, either case.
#[inline]
fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

#[inline]
fn is_separator(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'-')
}

/// Decodes `text` into `out`, returning the number of bytes written. Bits left over after the last whole
/// byte are dropped, as RFC 4648 decoders do for unpadded input.
pub(crate) fn decode_into(text: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    let mut len = 0usize;
    let mut chars = 0usize;
    let mut padding = false;
    for (position, &c) in text.iter().enumerate() {
        if is_separator(c) {
            continue;
        }
        if c == b'=' {
            padding = true;
            continue;
        }
        let v = match value(c) {
            Some(v) if !padding => v,
            _ => return Err(Error::InvalidBase32Character { position }),
        };
        chars += 1;
        acc = (acc << 5) | u16::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            let byte = (acc >> bits) as u8;
            match out.get_mut(len) {
                Some(slot) => *slot = byte,
                None => return Err(Error::SecretTooLong { bytes: len + 1 }),
            }
            len += 1;
            acc &= (1 << bits) - 1;
        }
    }
    if matches!(chars % 8, 1 | 3 | 6) {
        return Err(Error::InvalidBase32Length);
    }
    Ok(len)
}

/// Length of the canonical unpadded encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n * 8).div_ceil(5)
}

/// Writes the canonical encoding of `bytes` into `out`, which must hold `encoded_len(bytes.len())`.
pub(crate) fn encode_into<'a>(bytes: &[u8], out: &'a mut [u8]) -> Result<&'a str, Error> {
    let needed = encoded_len(bytes.len());
    let Some(out) = out.get_mut(..needed) else {
        return Err(Error::BufferTooSmall { needed });
    };
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    let mut n = 0;
    for &b in bytes {
        acc = (acc << 8) | u16::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out[n] = ALPHABET[usize::from((acc >> bits) & 31)];
            n += 1;
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out[n] = ALPHABET[usize::from((acc << (5 - bits)) & 31)];
    }
    // Every byte written is from the ASCII alphabet.
    core::str::from_utf8(out).map_err(|_| Error::BufferTooSmall { needed })
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 section 10 test vectors.
    const RFC4648: [(&str, &str); 7] = [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ];

    #[test]
    fn rfc4648_vectors_both_ways() {
        for (plain, encoded) in RFC4648 {
            let mut buf = [0u8; 16];
            assert_eq!(encode_into(plain.as_bytes(), &mut buf).unwrap(), encoded);
            let mut out = [0u8; 16];
            let n = decode_into(encoded.as_bytes(), &mut out).unwrap();
            assert_eq!(&out[..n], plain.as_bytes());
        }
    }

    #[test]
    fn padded_lowercase_and_grouped_forms_decode() {
        let mut out = [0u8; 16];
        for text in [
            "mzxw6ytboi======",
            "MZXW 6YTB OI",
            "mzxw-6ytb-oi==",
            " MZXW6YTBOI ",
        ] {
            let n = decode_into(text.as_bytes(), &mut out).unwrap();
            assert_eq!(&out[..n], b"foobar", "{text}");
        }
    }

    #[test]
    fn rejects_bad_characters_and_lengths() {
        let mut out = [0u8; 16];
        assert_eq!(
            decode_into(b"MZ1W", &mut out),
            Err(Error::InvalidBase32Character { position: 2 })
        );
        assert_eq!(
            decode_into(b"MZ=W", &mut out),
            Err(Error::InvalidBase32Character { position: 3 })
        );
        assert_eq!(
            decode_into(b"MZXW6YTBO", &mut out),
            Err(Error::InvalidBase32Length)
        );
        assert_eq!(decode_into(b"M", &mut out), Err(Error::InvalidBase32Length));
        let mut small = [0u8; 2];
        assert_eq!(
            decode_into(b"MZXW6", &mut small),
            Err(Error::SecretTooLong { bytes: 3 })
        );
        assert_eq!(
            encode_into(b"foo", &mut small),
            Err(Error::BufferTooSmall { needed: 5 })
        );
    }
}
