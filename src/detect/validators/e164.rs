//! International numbers: `+`, an assigned ITU-T country code, then 4-14 digits (E.164 or spaced
//! or hyphenated international format), at most 15 digits in all and at least 7. Country codes 1
//! and 86 are left to the NANP and Chinese validators, which know their numbering plans.

use super::{boundary, digits_into, in_longer_group, is_alnum, Ctx, Verdict};

/// Assigned country calling codes (ITU-T E.164 list), sorted.
const CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211,
    212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298,
    299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377,
    378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675,
    676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850,
    852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966,
    967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// The length of the assigned country code at the start of `d` (digit values), if any.
pub fn country_code_len(d: &[u8]) -> Option<usize> {
    let mut cc: u16 = 0;
    for (i, &x) in d.iter().take(3).enumerate() {
        cc = cc * 10 + x as u16;
        if CODES.binary_search(&cc).is_ok() {
            return Some(i + 1);
        }
    }
    None
}

/// Validator `e164`.
pub fn check(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    if hay.get(start) != Some(&b'+') {
        return Verdict::Reject;
    }
    if let Some(v) = boundary(hay, start, end, is_alnum) {
        return v;
    }
    if in_longer_group(hay, start, end) {
        return Verdict::Reject;
    }
    let mut buf = [0u8; 20];
    let Some(n) = digits_into(&hay[start..end], &mut buf) else {
        return Verdict::Reject;
    };
    let d = &buf[..n];
    let Some(cc) = country_code_len(d) else {
        return Verdict::Reject;
    };
    let national = n - cc;
    let owned_elsewhere = matches!(d[..cc], [1] | [8, 6]);
    if !owned_elsewhere && (4..=14).contains(&national) && (7..=15).contains(&n) {
        Verdict::Accept {
            start,
            end,
            weak: false,
        }
    } else {
        Verdict::Reject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        matches!(
            check(
                s.as_bytes(),
                0,
                s.len(),
                &Ctx {
                    today: 20250101,
                    ..Ctx::now()
                }
            ),
            Verdict::Accept { .. }
        )
    }

    #[test]
    fn forms() {
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        for good in [
            "+442079460958",
            "+44 20 7946 0958",
            "+49-30-1234567",
            "+852 2123 4567",
            "+6831234",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "+8613812345678",
            "+12125551234",
            "+2801234567",
            "+44123",
            "+4412345678901234",
            "1+442079460958",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }
}
