//! The canonical byte encoding of signed messages (PROTOCOL.md, "Canonical encoding").

/// The protocol version this crate speaks: the `v` of every JSON body and enrollment URI, and the `v1`
/// in every domain-separation tag.
pub const PROTOCOL_VERSION: u32 = 1;

/// The domain-separation tags, one per signed message type: the first field of its canonical bytes.
pub(crate) mod tag {
    pub(crate) const ENROLLMENT_ANSWER: &str = "mfa-push/v1/enrollment-answer";
    pub(crate) const ENROLLMENT_RECEIPT: &str = "mfa-push/v1/enrollment-receipt";
    pub(crate) const ENROLLMENT_SECRET: &str = "mfa-push/v1/enrollment-secret";
    pub(crate) const CHALLENGE: &str = "mfa-push/v1/challenge";
    pub(crate) const FETCH: &str = "mfa-push/v1/fetch";
    pub(crate) const ANSWER: &str = "mfa-push/v1/answer";
    pub(crate) const WAKE: &str = "mfa-push/v1/wake";
}

/// Builds canonical bytes: a sequence of fields, each a 4-byte big-endian length and that many bytes,
/// the first being the message's tag.
pub(crate) struct Canonical(Vec<u8>);

impl Canonical {
    pub(crate) fn new(tag: &'static str) -> Self {
        Canonical(Vec::with_capacity(256)).bytes(tag.as_bytes())
    }

    pub(crate) fn bytes(mut self, value: &[u8]) -> Self {
        // Every field is bounded far below 4 GiB by the parsers and constructors.
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(value);
        self
    }

    pub(crate) fn text(self, value: &str) -> Self {
        self.bytes(value.as_bytes())
    }

    pub(crate) fn int(self, value: i64) -> Self {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_length_prefixed() {
        let bytes = Canonical::new("t").text("ab").int(-2).bytes(&[]).finish();
        assert_eq!(
            bytes,
            [
                &[0, 0, 0, 1, b't'][..],
                &[0, 0, 0, 2, b'a', b'b'],
                &[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe],
                &[0, 0, 0, 0],
            ]
            .concat()
        );
    }
}
