//! A sealed TOTP secret as `mfa::KeyRing` opens it, for the benchmarks that time the opening
//! (`aead`, and `sign_in`'s breakdown).

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::aead::array::Array;
use chacha20poly1305::aead::array::typenum::Unsigned;

/// A 20-byte secret: 160 bits, the usual TOTP secret.
pub(crate) const SECRET: [u8; 20] = *b"12345678901234567890";
const TAG_BYTES: usize = 16;

/// Associated data shaped like `KeyRing`'s: domain, key id, method id, user id.
pub(crate) fn associated_data() -> Vec<u8> {
    let mut aad = b"mfa/totp-secret/v1\0".to_vec();
    aad.extend_from_slice(&1u32.to_be_bytes());
    aad.extend_from_slice(&[0xa5; 16]);
    aad.extend_from_slice(b"alice@example.com");
    aad
}

/// Seals `SECRET` under `cipher` with a fixed nonce of the cipher's size: nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal<A: AeadInOut>(cipher: &A, aad: &[u8]) -> Vec<u8> {
    let nonce = Array::<u8, A::NonceSize>::from_fn(|i| i as u8);
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&SECRET);
    let tag = cipher
        .encrypt_inout_detached(&nonce, aad, bytes[A::NonceSize::USIZE..].as_mut().into())
        .expect("seal");
    bytes.extend_from_slice(&tag);
    bytes
}

/// What `KeyRing::open` does with a sealed secret: split, copy, decrypt in place, check the tag.
pub(crate) fn open<A: AeadInOut>(cipher: &A, aad: &[u8], sealed: &[u8]) -> Vec<u8> {
    let (nonce, rest) = sealed.split_at(A::NonceSize::USIZE);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
    let nonce = Array::<u8, A::NonceSize>::try_from(nonce).expect("nonce size");
    let tag = Array::<u8, A::TagSize>::try_from(tag).expect("tag size");
    let mut plaintext = ciphertext.to_vec();
    cipher
        .decrypt_inout_detached(&nonce, aad, plaintext.as_mut_slice().into(), &tag)
        .expect("a sealed secret opens");
    plaintext
}
