//! One flipped bit in the signed bytes of a test vector, in each field's value and in each
//! length, makes its signature fail: the signature covers every field, the tag and the lengths.

use serde_json::Value;

use crate::keys::Signature;
use crate::{Algorithm, DevicePublicKey, Error, ServicePublicKey};

fn hex_of(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_default()).unwrap_or_default()
}

/// The (start, end) of each field's value.
fn fields(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        out.push((at + 4, at + 4 + len));
        at += 4 + len;
    }
    assert_eq!(at, bytes.len(), "fields end where the bytes end");
    out
}

#[test]
fn every_field_and_length_is_signed() {
    let v: Value = serde_json::from_str(include_str!("../vectors/v1.json")).unwrap_or_default();
    let key = |name: &str| &v["keys"][name]["public_key"];
    let service = ServicePublicKey::from_bytes(&hex_of(key("service")).try_into().unwrap_or([0; 32]));
    let service = service.unwrap_or_else(|e| panic!("{e}"));
    let p256 = DevicePublicKey::from_bytes(Algorithm::EcdsaP256, &hex_of(key("device_p256")));
    let ed25519 = DevicePublicKey::from_bytes(Algorithm::Ed25519, &hex_of(key("device_ed25519")));
    let (p256, ed25519) = (
        p256.unwrap_or_else(|e| panic!("{e}")),
        ed25519.unwrap_or_else(|e| panic!("{e}")),
    );

    let messages = v["messages"].as_object().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 12);
    for (name, m) in messages {
        let canonical = hex_of(&m["canonical"]);
        let signature: Signature = hex_of(&m["signature"]).try_into().unwrap_or([0; 64]);
        let verify = |bytes: &[u8]| -> Result<(), Error> {
            match m["signer"].as_str() {
                Some("service") => service.verify(bytes, &signature),
                Some("device_p256") => p256.verify(bytes, &signature),
                Some("device_ed25519") => ed25519.verify(bytes, &signature),
                other => panic!("no signer {other:?}"),
            }
        };
        assert_eq!(verify(&canonical), Ok(()), "{name}");
        assert_eq!(
            &canonical[4..4 + m["tag"].as_str().unwrap_or_default().len()],
            m["tag"].as_str().unwrap_or_default().as_bytes()
        );
        for (start, end) in fields(&canonical) {
            // The last bit of the field's length, and a bit of the first and of the last byte of its value
            // (each byte would take long with P-256 in a debug build).
            let mut tampered = canonical.clone();
            tampered[start - 1] ^= 1;
            assert_eq!(
                verify(&tampered),
                Err(Error::BadSignature),
                "{name}: length at {start}"
            );
            for i in [start, end.saturating_sub(1)].into_iter().filter(|&i| i < end) {
                let mut tampered = canonical.clone();
                tampered[i] ^= 1 << (i % 8);
                assert_eq!(verify(&tampered), Err(Error::BadSignature), "{name}: byte {i}");
            }
        }
    }
}
