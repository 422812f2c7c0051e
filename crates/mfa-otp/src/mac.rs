//! HMAC (RFC 2104) keyed once, evaluated many times.
//!
//! HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). The first block of each hash depends only on the key,
//! so we compress it once per secret and keep the two chaining states (RFC 2104 section 4, "precompute").
//! An OTP message is an 8-byte counter, so each evaluation is then exactly two compressions: one inner
//! block (counter + padding) and one outer block (inner digest + padding). We build those blocks by hand
//! and call the hash crates' compression functions directly; no buffering, no allocation.

use sha1::block_api::compress as sha1_compress;
use sha2::block_api::{compress256, compress512};
use sha2::digest::Digest;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Algorithm;

// Initial hash values, FIPS 180-4 sections 5.3.1, 5.3.3 and 5.3.5.
const SHA1_IV: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
const SHA512_IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// The inner and outer chaining states of HMAC after absorbing the padded key.
/// These are key-equivalent, so they zeroize on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) enum KeyedMac {
    Sha1 { inner: [u32; 5], outer: [u32; 5] },
    Sha256 { inner: [u32; 8], outer: [u32; 8] },
    Sha512 { inner: [u64; 8], outer: [u64; 8] },
}

/// The key padded to one block: keys longer than a block are hashed first (RFC 2104 section 2).
fn padded_key<const B: usize, D: Digest>(key: &[u8]) -> [u8; B] {
    let mut block = [0u8; B];
    if key.len() > B {
        let mut digest = D::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
        digest.as_mut_slice().zeroize();
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}

impl KeyedMac {
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Self {
        match algorithm {
            Algorithm::Sha1 => {
                let mut block = padded_key::<64, sha1::Sha1>(key);
                #[cfg(target_arch = "x86_64")]
                let fast = crate::sha1_x86::keyed_states(&block);
                #[cfg(not(target_arch = "x86_64"))]
                let fast = None;
                let (inner, outer) = fast.unwrap_or_else(|| {
                    keyed_states(&mut block, SHA1_IV, |s, b| {
                        sha1_compress(s, core::slice::from_ref(b))
                    })
                });
                block.zeroize();
                KeyedMac::Sha1 { inner, outer }
            }
            Algorithm::Sha256 => {
                let mut block = padded_key::<64, sha2::Sha256>(key);
                let (inner, outer) = keyed_states(&mut block, SHA256_IV, |s, b| {
                    compress256(s, core::slice::from_ref(b))
                });
                block.zeroize();
                KeyedMac::Sha256 { inner, outer }
            }
            Algorithm::Sha512 => {
                let mut block = padded_key::<128, sha2::Sha512>(key);
                let (inner, outer) = keyed_states(&mut block, SHA512_IV, |s, b| {
                    compress512(s, core::slice::from_ref(b))
                });
                block.zeroize();
                KeyedMac::Sha512 { inner, outer }
            }
        }
    }

    /// The SHA-1 key states through the portable path, for tests against the interleaved one.
    #[cfg(test)]
    fn new_portable_sha1(key: &[u8]) -> Self {
        let mut block = padded_key::<64, sha1::Sha1>(key);
        let (inner, outer) = keyed_states(&mut block, SHA1_IV, |s, b| {
            sha1_compress(s, core::slice::from_ref(b))
        });
        KeyedMac::Sha1 { inner, outer }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            KeyedMac::Sha1 { .. } => Algorithm::Sha1,
            KeyedMac::Sha256 { .. } => Algorithm::Sha256,
            KeyedMac::Sha512 { .. } => Algorithm::Sha512,
        }
    }

    /// HOTP value of `counter`: HMAC, then dynamic truncation to 31 bits (RFC 4226 section 5.3).
    #[inline]
    pub(crate) fn truncated(&self, counter: u64) -> u32 {
        self.truncated_lanes(counter, 1)[0]
    }

    /// Truncated HOTP values of `count` (1 to [`LANES`]) consecutive counters from `first`; the caller makes
    /// sure `first + count - 1` does not overflow.
    ///
    /// All inner compressions run before all outer ones: the lanes are independent, so the CPU overlaps
    /// them instead of waiting out each compression's latency in turn.
    #[inline]
    pub(crate) fn truncated_lanes(&self, first: u64, count: usize) -> [u32; LANES] {
        match self {
            KeyedMac::Sha1 { inner, outer } => {
                #[cfg(target_arch = "x86_64")]
                if let Some(values) = crate::sha1_x86::truncated_lanes(inner, outer, first, count) {
                    return values;
                }
                self.truncated_lanes_portable(first, count)
            }
            _ => self.truncated_lanes_portable(first, count),
        }
    }

    /// [`truncated_lanes`](Self::truncated_lanes) through the hash crates' compression functions.
    #[inline]
    pub(crate) fn truncated_lanes_portable(&self, first: u64, count: usize) -> [u32; LANES] {
        match self {
            KeyedMac::Sha1 { inner, outer } => lanes(
                inner,
                outer,
                first,
                count,
                message_block64,
                |s: &mut [u32; 5], b: &[u8; 64]| sha1_compress(s, core::slice::from_ref(b)),
                |s, o: &mut [u8; 64]| {
                    be_words32(s, &mut o[..20]);
                    finish_block64(o, 20);
                },
                |t| truncate_words32(t),
            ),
            KeyedMac::Sha256 { inner, outer } => lanes(
                inner,
                outer,
                first,
                count,
                message_block64,
                |s: &mut [u32; 8], b: &[u8; 64]| compress256(s, core::slice::from_ref(b)),
                |s, o: &mut [u8; 64]| {
                    be_words32(s, &mut o[..32]);
                    finish_block64(o, 32);
                },
                |t| truncate_words32(t),
            ),
            KeyedMac::Sha512 { inner, outer } => lanes(
                inner,
                outer,
                first,
                count,
                |counter| {
                    let mut block = [0u8; 128];
                    block[..8].copy_from_slice(&counter.to_be_bytes());
                    finish_block128(&mut block, 8);
                    block
                },
                |s: &mut [u64; 8], b: &[u8; 128]| compress512(s, core::slice::from_ref(b)),
                |s, o: &mut [u8; 128]| {
                    for (chunk, w) in o[..64].chunks_exact_mut(8).zip(s.iter()) {
                        chunk.copy_from_slice(&w.to_be_bytes());
                    }
                    finish_block128(o, 64);
                },
                truncate_words64,
            ),
        }
    }
}

/// How many counters [`KeyedMac::truncated_lanes`] computes side by side.
pub(crate) const LANES: usize = 4;

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lanes<S: Copy, const B: usize>(
    inner: &S,
    outer: &S,
    first: u64,
    count: usize,
    message: impl Fn(u64) -> [u8; B],
    compress: impl Fn(&mut S, &[u8; B]),
    outer_block: impl Fn(&S, &mut [u8; B]),
    truncate: impl Fn(&S) -> u32,
) -> [u32; LANES] {
    let count = count.min(LANES);
    let mut states = [*inner; LANES];
    let mut counter = first;
    for state in states.iter_mut().take(count) {
        compress(state, &message(counter));
        counter = counter.wrapping_add(1);
    }
    let mut out = [0u32; LANES];
    for (value, state) in out.iter_mut().zip(states.iter()).take(count) {
        let mut block = [0u8; B];
        outer_block(state, &mut block);
        let mut t = *outer;
        compress(&mut t, &block);
        *value = truncate(&t);
    }
    out
}

/// Chaining states after one compression of `key ^ ipad` and of `key ^ opad`; leaves `padded_key` XORed.
fn keyed_states<const B: usize, S: Copy>(
    padded_key: &mut [u8; B],
    iv: S,
    compress: impl Fn(&mut S, &[u8; B]),
) -> (S, S) {
    // XOR in place, so only the caller's one block of key material needs wiping.
    let (mut inner, mut outer) = (iv, iv);
    padded_key.iter_mut().for_each(|b| *b ^= 0x36);
    compress(&mut inner, padded_key);
    padded_key.iter_mut().for_each(|b| *b ^= 0x36 ^ 0x5c);
    compress(&mut outer, padded_key);
    (inner, outer)
}

/// The inner block of a 64-byte-block hash: the 8-byte counter after the key block.
#[inline(always)]
fn message_block64(counter: u64) -> [u8; 64] {
    let mut block = [0u8; 64];
    block[..8].copy_from_slice(&counter.to_be_bytes());
    finish_block64(&mut block, 8);
    block
}

/// Merkle-Damgard padding for a message of one key block plus `len` bytes in this block (FIPS 180-4 5.1.1).
#[inline(always)]
fn finish_block64(block: &mut [u8; 64], len: usize) {
    block[len] = 0x80;
    let bits = ((64 + len) * 8) as u64;
    block[56..].copy_from_slice(&bits.to_be_bytes());
}

/// The same for 128-byte blocks, with a 128-bit length field (FIPS 180-4 5.1.2).
#[inline(always)]
fn finish_block128(block: &mut [u8; 128], len: usize) {
    block[len] = 0x80;
    let bits = ((128 + len) * 8) as u128;
    block[112..].copy_from_slice(&bits.to_be_bytes());
}

#[inline(always)]
fn be_words32(words: &[u32], out: &mut [u8]) {
    for (chunk, w) in out.chunks_exact_mut(4).zip(words.iter()) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
}

/// RFC 4226 section 5.3 on a big-endian digest held as 32-bit words: the low nibble of the last byte is
/// an offset; the four bytes there, less the top bit, are the value.
#[inline(always)]
pub(crate) fn truncate_words32(words: &[u32]) -> u32 {
    let offset = (words[words.len() - 1] & 0x0f) as usize;
    let (word, shift) = (offset / 4, offset % 4);
    // Bytes offset..offset + 4 lie within two adjacent words; words.len() >= 5 keeps `word + 1` in range.
    let pair = (u64::from(words[word]) << 32) | u64::from(words[word + 1]);
    ((pair >> (32 - 8 * shift)) as u32) & 0x7fff_ffff
}

/// The same for a digest held as 64-bit words (SHA-512).
#[inline(always)]
fn truncate_words64(words: &[u64; 8]) -> u32 {
    let offset = (words[7] & 0x0f) as usize;
    let (word, shift) = (offset / 8, offset % 8);
    let pair = (u128::from(words[word]) << 64) | u128::from(words[word + 1]);
    ((pair >> (96 - 8 * shift)) as u32) & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{KeyInit, Mac};

    fn reference(algorithm: Algorithm, key: &[u8], counter: u64) -> u32 {
        fn run<M: Mac + KeyInit>(key: &[u8], counter: u64) -> u32 {
            let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
            mac.update(&counter.to_be_bytes());
            let h = mac.finalize().into_bytes();
            let offset = usize::from(h[h.len() - 1] & 0x0f);
            u32::from_be_bytes([h[offset], h[offset + 1], h[offset + 2], h[offset + 3]]) & 0x7fff_ffff
        }
        match algorithm {
            Algorithm::Sha1 => run::<hmac::Hmac<sha1::Sha1>>(key, counter),
            Algorithm::Sha256 => run::<hmac::Hmac<sha2::Sha256>>(key, counter),
            Algorithm::Sha512 => run::<hmac::Hmac<sha2::Sha512>>(key, counter),
        }
    }

    #[test]
    fn matches_rustcrypto_hmac_for_every_key_length() {
        // Key lengths around both block sizes exercise the "hash a long key first" branch.
        for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            for len in (0..=300).step_by(7).chain([63, 64, 65, 127, 128, 129]) {
                let key: [u8; 300] = core::array::from_fn(|i| (i * 31 + len) as u8);
                let mac = KeyedMac::new(algorithm, &key[..len]);
                if algorithm == Algorithm::Sha1 {
                    let (KeyedMac::Sha1 { inner: a, outer: b }, KeyedMac::Sha1 { inner: c, outer: d }) =
                        (&mac, &KeyedMac::new_portable_sha1(&key[..len]))
                    else {
                        unreachable!()
                    };
                    assert_eq!((a, b), (c, d));
                }
                for counter in [0, 1, 0x1234_5678_9abc_def0, u64::MAX] {
                    assert_eq!(mac.truncated(counter), reference(algorithm, &key[..len], counter));
                }
                for first in [0, 0xffff_ffff, u64::MAX - 3] {
                    for count in 1..=LANES {
                        let lanes = mac.truncated_lanes(first, count);
                        let portable = mac.truncated_lanes_portable(first, count);
                        for (i, value) in lanes.iter().enumerate().take(count) {
                            let expected = reference(algorithm, &key[..len], first + i as u64);
                            assert_eq!(*value, expected);
                            assert_eq!(portable[i], expected);
                        }
                    }
                }
            }
        }
    }
}
