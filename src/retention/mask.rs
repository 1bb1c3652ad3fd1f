//! The mask action: shape-keeping masks (`13812345678` -> `138****5678`) from
//! [`crate::detect::mask::mask`], with the category guessed from the value's shape. A value
//! containing `*` counts as masked and is never masked again.

use crate::detect::mask::{mask, MASK};

/// True when `value` is already masked.
pub fn is_masked(value: &str) -> bool {
    value.contains(MASK)
}

/// The detector category whose mask fits `value`: `email`, `phone`, `cn_resident_id`, `vin`, or
/// `""` (the generic mask).
pub fn category_of(value: &str) -> &'static str {
    let v = value.trim();
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    if v.contains('@') {
        "email"
    } else if v
        .bytes()
        .all(|b| b.is_ascii_digit() || b" +-()".contains(&b))
        && (7..=15).contains(&digits)
    {
        "phone"
    } else if v.len() == 18
        && digits >= 17
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b == b'X' || b == b'x')
    {
        "cn_resident_id"
    } else if v.len() == 17 && v.bytes().all(|b| b.is_ascii_alphanumeric()) && digits >= 4 {
        "vin"
    } else {
        ""
    }
}

/// Appends the mask of `value` to `out`; the result keeps the number of characters.
pub fn mask_into(value: &str, out: &mut String) {
    out.push_str(&mask(category_of(value), value));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: &str) -> String {
        let mut s = String::new();
        mask_into(v, &mut s);
        s
    }

    #[test]
    fn keeps_shape_and_marks_masked() {
        assert_eq!(m("13812345678"), "138****5678");
        assert_eq!(m("zhangsan@example.com"), "zh******@example.com");
        assert_eq!(m("11010119900307123X"), "1101**********123X");
        for v in ["13812345678", "a@b.c", "x", "LFV2A21KXD4001234", "张三"] {
            let r = m(v);
            assert!(is_masked(&r), "{v} -> {r}");
            assert_eq!(r.chars().count(), v.chars().count(), "{v}");
        }
    }
}
