use zeroize::Zeroizing;

/// The most letters an app password may have (generated ones have at most [`MAX_LENGTH`](crate::MAX_LENGTH)).
pub(crate) const MAX_LETTERS: usize = 256;
/// Typed input longer than this many bytes is never an app password and is not even scanned further.
const MAX_TYPED_BYTES: usize = 4 * MAX_LETTERS;

/// The canonical form of an app password as someone typed it: ASCII letters, lowercased, with every space,
/// tab, other whitespace and dash removed. `None` when the input cannot be an app password (any other
/// character, no letter at all, more than 256 letters).
///
/// This is the form that is hashed and tagged, so `"ABCD-efgh ijkl mnop"`, `"abcdefghijklmnop"` and
/// `" abcd efgh-ijkl  MNOP "` are the same app password. The result zeroizes on drop.
///
/// ```
/// use mfa_app_password::normalize;
///
/// assert_eq!(normalize("ABCD-efgh ijkl mnop").as_deref().map(String::as_str), Some("abcdefghijklmnop"));
/// assert_eq!(normalize("abcd efgh ijkl mnop").as_deref().map(String::as_str), Some("abcdefghijklmnop"));
/// assert!(normalize("abcd 1234").is_none());
/// assert!(normalize(" - ").is_none());
/// ```
pub fn normalize(typed: &str) -> Option<Zeroizing<String>> {
    if typed.len() > MAX_TYPED_BYTES {
        return None;
    }
    // Reserve once so that no partial copy of the password is left behind by a reallocation.
    let mut out = Zeroizing::new(String::with_capacity(typed.len().min(MAX_LETTERS)));
    for c in typed.chars() {
        if c.is_ascii_alphabetic() {
            if out.len() == MAX_LETTERS {
                return None;
            }
            out.push(c.to_ascii_lowercase());
        } else if !(c == '-' || c.is_whitespace()) {
            return None;
        }
    }
    if out.is_empty() { None } else { Some(out) }
}
