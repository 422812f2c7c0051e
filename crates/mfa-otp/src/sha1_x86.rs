//! HMAC-SHA-1 for up to four counters at once with the x86 SHA extensions, lanes interleaved.
//!
//! One SHA-1 compression on the SHA extensions is a chain of twenty `sha1rnds4`, each waiting for the one
//! before: the unit is mostly idle, waiting out latency. The steps of a verification window are independent,
//! so we run their compressions round group by round group side by side, and the CPU overlaps them. The
//! blocks are built as 32-bit words straight from the counter, with no byte loads or shuffles, and the inner
//! digest stays in registers as the first words of the outer block.
//!
//! Register layout (Intel SHA extensions): ABCD holds A in the top lane; E rides in the top lane of the
//! first message vector; message vectors hold W[i] in the top lane and W[i+3] in the bottom one.

use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_extract_epi32, _mm_or_si128, _mm_set_epi32, _mm_setzero_si128,
    _mm_sha1msg1_epu32, _mm_sha1msg2_epu32, _mm_sha1nexte_epu32, _mm_sha1rnds4_epu32, _mm_xor_si128,
};

use crate::mac::LANES;

cpufeatures::new!(sha_extensions, "sha", "sse2", "ssse3", "sse4.1");

/// The truncated HOTP values of `count` consecutive counters from `first` (see `KeyedMac::truncated_lanes`),
/// or `None` when this CPU lacks the SHA extensions.
#[allow(unsafe_code)]
#[inline]
pub(crate) fn truncated_lanes(
    inner: &[u32; 5],
    outer: &[u32; 5],
    first: u64,
    count: usize,
) -> Option<[u32; LANES]> {
    if !sha_extensions::get() {
        return None;
    }
    // SAFETY: `dispatch` only requires the CPU features sha, sse2, ssse3 and sse4.1, detected just above.
    Some(unsafe { dispatch(inner, outer, first, count) })
}

/// HMAC-SHA-1's inner and outer chaining states for a key already padded to one block (RFC 2104): the
/// `ipad` and `opad` compressions side by side. `None` when this CPU lacks the SHA extensions.
#[allow(unsafe_code)]
pub(crate) fn keyed_states(padded_key: &[u8; 64]) -> Option<([u32; 5], [u32; 5])> {
    if !sha_extensions::get() {
        return None;
    }
    // SAFETY: `keyed` only requires the CPU features sha, sse2, ssse3 and sse4.1, detected just above.
    Some(unsafe { keyed(padded_key) })
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn keyed(padded_key: &[u8; 64]) -> ([u32; 5], [u32; 5]) {
    let mut words = [0u32; 16];
    for (word, bytes) in words.iter_mut().zip(padded_key.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let block = |pad: u32| -> [__m128i; 4] {
        core::array::from_fn(|i| {
            let w = |j: usize| (words[4 * i + j] ^ pad) as i32;
            _mm_set_epi32(w(0), w(1), w(2), w(3))
        })
    };
    let iv = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let [inner, outer] = compress::<2>(load(&iv), &[block(0x3636_3636), block(0x5c5c_5c5c)]);
    zeroize::Zeroize::zeroize(&mut words);
    (store(inner), store(outer))
}

#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn store(state: State) -> [u32; 5] {
    [
        _mm_extract_epi32(state.abcd, 3) as u32,
        _mm_extract_epi32(state.abcd, 2) as u32,
        _mm_extract_epi32(state.abcd, 1) as u32,
        _mm_extract_epi32(state.abcd, 0) as u32,
        _mm_extract_epi32(state.e, 3) as u32,
    ]
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn dispatch(inner: &[u32; 5], outer: &[u32; 5], first: u64, count: usize) -> [u32; LANES] {
    match count {
        0 | 1 => hmac::<1>(inner, outer, first),
        2 => hmac::<2>(inner, outer, first),
        3 => hmac::<3>(inner, outer, first),
        _ => hmac::<4>(inner, outer, first),
    }
}

/// A SHA-1 state: ABCD in one vector, E in the top lane of another (lower lanes zero).
#[derive(Clone, Copy)]
struct State {
    abcd: __m128i,
    e: __m128i,
}

#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn load(words: &[u32; 5]) -> State {
    let w = words.map(|x| x as i32);
    State {
        abcd: _mm_set_epi32(w[0], w[1], w[2], w[3]),
        e: _mm_set_epi32(w[4], 0, 0, 0),
    }
}

#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn hmac<const L: usize>(inner: &[u32; 5], outer: &[u32; 5], first: u64) -> [u32; LANES] {
    let zero = _mm_setzero_si128();
    // Inner blocks: the 8-byte counter, the 0x80 pad byte, and the bit length of key block + counter.
    let mut blocks = [[zero; 4]; L];
    for (lane, block) in blocks.iter_mut().enumerate() {
        let counter = first.wrapping_add(lane as u64);
        block[0] = _mm_set_epi32((counter >> 32) as i32, counter as i32, 0x8000_0000_u32 as i32, 0);
        block[3] = _mm_set_epi32(0, 0, 0, (64 + 8) * 8);
    }
    let digests = compress::<L>(load(inner), &blocks);
    // Outer blocks: the 20-byte inner digest (A to D are already in message order, E in the top lane), the
    // pad byte, and the bit length of key block + digest.
    for (block, digest) in blocks.iter_mut().zip(digests.iter()) {
        block[0] = digest.abcd;
        block[1] = _mm_or_si128(digest.e, _mm_set_epi32(0, 0x8000_0000_u32 as i32, 0, 0));
        block[2] = zero;
        block[3] = _mm_set_epi32(0, 0, 0, (64 + 20) * 8);
    }
    let macs = compress::<L>(load(outer), &blocks);
    let mut out = [0u32; LANES];
    for (value, mac) in out.iter_mut().zip(macs.iter()) {
        *value = crate::mac::truncate_words32(&store(*mac));
    }
    out
}

/// One compression of one block in each of `L` lanes, all starting from `start`.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn compress<const L: usize>(start: State, blocks: &[[__m128i; 4]; L]) -> [State; L] {
    let mut w = *blocks;
    let mut abcd = [start.abcd; L];
    // ABCD before the previous round group: its A, rotated, is the E of the next group (sha1nexte).
    let mut before = [start.abcd; L];
    // Rounds 0-19 use the choice function, 20-39 parity, 40-59 majority, 60-79 parity again.
    group::<L, 0>(0, &mut abcd, &mut before, &mut w, start.e);
    for g in 1..5 {
        group::<L, 0>(g, &mut abcd, &mut before, &mut w, start.e);
    }
    for g in 5..10 {
        group::<L, 1>(g, &mut abcd, &mut before, &mut w, start.e);
    }
    for g in 10..15 {
        group::<L, 2>(g, &mut abcd, &mut before, &mut w, start.e);
    }
    for g in 15..20 {
        group::<L, 3>(g, &mut abcd, &mut before, &mut w, start.e);
    }
    let mut out = [start; L];
    for (lane, state) in out.iter_mut().enumerate() {
        state.abcd = _mm_add_epi32(abcd[lane], start.abcd);
        state.e = _mm_sha1nexte_epu32(before[lane], start.e);
    }
    out
}

/// Rounds 4g to 4g+3 in every lane, with the message schedule of FIPS 180-4 section 6.1.2 for g >= 4:
/// W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]), four words at a time; `w` rolls over four vectors.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn group<const L: usize, const F: i32>(
    g: usize,
    abcd: &mut [__m128i; L],
    before: &mut [__m128i; L],
    w: &mut [[__m128i; 4]; L],
    e0: __m128i,
) {
    for lane in 0..L {
        let w = &mut w[lane];
        if g >= 4 {
            let partial = _mm_xor_si128(_mm_sha1msg1_epu32(w[g % 4], w[(g + 1) % 4]), w[(g + 2) % 4]);
            w[g % 4] = _mm_sha1msg2_epu32(partial, w[(g + 3) % 4]);
        }
        let with_e = if g == 0 {
            _mm_add_epi32(e0, w[0])
        } else {
            _mm_sha1nexte_epu32(before[lane], w[g % 4])
        };
        before[lane] = abcd[lane];
        abcd[lane] = _mm_sha1rnds4_epu32(abcd[lane], with_e, F);
    }
}
