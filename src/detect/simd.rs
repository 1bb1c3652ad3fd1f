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
