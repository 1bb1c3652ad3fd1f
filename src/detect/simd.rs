//! The SSE2 building blocks the byte scans share (x86-64 only; every x86-64 CPU has SSE2, and
//! the scans fall back to plain loops elsewhere).

use std::arch::x86_64::*;

/// The sixteen bytes as a vector.
#[target_feature(enable = "sse2")]
pub(crate) fn load(bytes: &[u8; 16]) -> __m128i {
    // SAFETY: an unaligned load of exactly the sixteen bytes of the array.
    unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
}

/// Bytes of `v` in `lo..=lo + span` (unsigned), as a byte mask.
#[target_feature(enable = "sse2")]
pub(crate) fn in_range(v: __m128i, lo: u8, span: u8) -> __m128i {
    let x = _mm_sub_epi8(v, _mm_set1_epi8(lo as i8));
    _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(span as i8)), x)
}

/// Digits as one byte mask, and ASCII letters or digits as another.
#[target_feature(enable = "sse2")]
pub(crate) fn digits_and_alnum(v: __m128i) -> (__m128i, __m128i) {
    let digit = in_range(v, b'0', 9);
    // `| 0x20` lower-cases letters and maps no other byte into a-z.
    let letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 25);
    (digit, _mm_or_si128(digit, letter))
}

/// ASCII hex digits as a byte mask.
#[target_feature(enable = "sse2")]
pub(crate) fn hex_digits(v: __m128i) -> __m128i {
    _mm_or_si128(in_range(v, b'0', 9), hex_letters(v))
}

/// The letters a-f and A-F as a byte mask.
#[target_feature(enable = "sse2")]
pub(crate) fn hex_letters(v: __m128i) -> __m128i {
    // `| 0x20` lower-cases letters and maps no other byte into a-f.
    in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 5)
}

/// Bit `k` set when `class` marks byte `k` of `bytes` (16 to 64 of them), sixteen bytes per
/// step, the last step overlapping the one before when the length is not a multiple of 16.
#[inline]
#[target_feature(enable = "sse2")]
pub(crate) fn mask64(bytes: &[u8], class: impl Fn(__m128i) -> __m128i) -> u64 {
    let n = bytes.len();
    debug_assert!((16..=64).contains(&n));
    let lane = |at: usize, skip: u32| {
        let v = load(bytes[at..at + 16].try_into().expect("16 bytes"));
        (_mm_movemask_epi8(class(v)) as u16 as u64) >> skip << (at as u32 + skip)
    };
    let mut m = (0..n / 16).fold(0, |m, i| m | lane(16 * i, 0));
    if !n.is_multiple_of(16) {
        m |= lane(n - 16, (16 - n % 16) as u32);
    }
    m
}
