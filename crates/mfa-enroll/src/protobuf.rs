//! The few protocol-buffer wire-format pieces the export format needs
//! (<https://protobuf.dev/programming-guides/encoding/>): varints and length-delimited fields.

use std::vec::Vec;

use crate::Error;

/// One field's value as it appears on the wire.
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire types 1 and 5: skipped by every message here.
    Fixed,
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&byte, rest) = self
                .buf
                .split_first()
                .ok_or(Error::MalformedProtobuf("truncated varint"))?;
            self.buf = rest;
            // The tenth byte may only carry the 64th bit.
            if i == 9 && byte > 1 {
                return Err(Error::MalformedProtobuf("varint longer than 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Error::MalformedProtobuf("varint longer than 64 bits"))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        if len > self.buf.len() {
            return Err(Error::MalformedProtobuf("field runs past the end"));
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(head)
    }

    /// The next field number and value, `None` at the end.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, Error> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 || field > 0x1fff_ffff {
            return Err(Error::MalformedProtobuf("invalid field number"));
        }
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| Error::MalformedProtobuf("field runs past the end"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Value::Fixed
            }
            _ => return Err(Error::MalformedProtobuf("unsupported wire type")),
        };
        Ok(Some((field, value)))
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(crate) fn put_varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
    put_varint(out, field << 3);
    put_varint(out, value);
}

pub(crate) fn put_bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_refuse_overlong() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, value);
            assert_eq!(Reader::new(&buf).varint().ok(), Some(value));
        }
        // 300 = 0xAC 0x02 (protobuf encoding guide).
        let mut buf = Vec::new();
        put_varint(&mut buf, 300);
        assert_eq!(buf, [0xac, 0x02]);
        assert!(Reader::new(&[0xff; 10]).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .varint()
                .is_err()
        );
    }

    #[test]
    fn fields_are_checked() {
        // Field 0, wire type 0.
        assert!(Reader::new(&[0x00, 0x01]).next_field().is_err());
        // Group start (wire type 3).
        assert!(Reader::new(&[0x0b]).next_field().is_err());
        // Length 5 with 1 byte left.
        assert!(Reader::new(&[0x0a, 0x05, 0x00]).next_field().is_err());
        // Fixed32 and fixed64 are skipped.
        let mut r = Reader::new(&[0x0d, 1, 2, 3, 4, 0x11, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(matches!(r.next_field(), Ok(Some((1, Value::Fixed)))));
        assert!(matches!(r.next_field(), Ok(Some((2, Value::Fixed)))));
        assert!(matches!(r.next_field(), Ok(None)));
    }
}
