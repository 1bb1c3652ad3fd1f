//! Shape- and length-preserving masks for examples and the retention `mask` action:
//! `138****5678`, `1101**********123X`, `ab***@qq.com`, `京A***45`, `LFV2*********1234`.
//! Deterministic; the output has exactly as many characters as the input, and at least a third of
//! the identifying characters (rounded up, at least one) are always masked. Full-width forms count
//! as the characters they fold to (`１３８００１３８０００` -> `１３８****８０００`, see [`super::fold`]).

use super::fold::fold_char;

/// The mask character.
pub const MASK: char = '*';

/// Masks `value` as an identifier of `category` (unknown categories get the generic mask).
pub fn mask(category: &str, value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = chars.clone();
    match category {
        "phone" => mask_selected(&mut out, |c| ascii(c).is_ascii_digit(), 3, 4),
        "cn_resident_id" | "vin" => mask_selected(&mut out, |c| c.is_alphanumeric(), 4, 4),
        "email" => mask_email(&mut out),
        "cn_license_plate" => mask_plate(&mut out),
        _ => mask_selected(&mut out, |c| !c.is_whitespace(), 0, 0),
    }
    out.into_iter().collect()
}

/// The ASCII character `c` folds to, or `c`.
fn ascii(c: char) -> char {
    fold_char(c).unwrap_or(c)
}

/// Masks the characters selected by `pick`, keeping the first `head` and last `tail` of them,
/// reduced so that at least a third (rounded up, at least one) are masked. `head == tail == 0`
/// keeps a quarter at each end.
fn mask_selected(out: &mut [char], pick: impl Fn(char) -> bool, head: usize, tail: usize) {
    let n = out.iter().filter(|&&c| pick(c)).count();
    if n == 0 {
        return;
    }
    let (mut head, mut tail) = if head == 0 && tail == 0 {
        (n / 4, n / 4)
    } else {
        (head, tail)
    };
    let min_masked = n.div_ceil(3).max(1);
    while head + tail + min_masked > n {
        if tail >= head && tail > 0 {
            tail -= 1;
        } else if head > 0 {
            head -= 1;
        } else {
            break;
        }
    }
    let mut k = 0;
    for c in out.iter_mut() {
        if pick(*c) {
            if k >= head && k < n - tail {
                *c = MASK;
            }
            k += 1;
        }
    }
}

/// `abcde@qq.com` -> `ab***@qq.com`: the local part keeps two characters (one when short); the
/// domain stays. Without an at sign, the generic mask.
fn mask_email(out: &mut [char]) {
    match out.iter().rposition(|&c| c == '@' || c == '＠') {
        Some(at) if at > 0 => {
            let local = &mut out[..at];
            let keep = if local.len() > 3 { 2 } else { 1 };
            let keep = keep.min(local.len() - 1);
            for c in &mut local[keep..] {
                *c = MASK;
            }
            if local.len() == 1 {
                local[0] = MASK;
            }
        }
        _ => mask_selected(out, |c| !c.is_whitespace(), 0, 0),
    }
}

/// `京A12345` -> `京A***45`: province and authority letter stay (they identify a region, not a
/// vehicle), the serial keeps its last two characters; separators and suffix characters stay.
fn mask_plate(out: &mut [char]) {
    let starts_cjk = out.first().is_some_and(|&c| !ascii(c).is_ascii());
    let serial = |c: char| ascii(c).is_ascii_alphanumeric();
    if starts_cjk && out.len() > 2 && ascii(out[1]).is_ascii_alphabetic() {
        mask_selected(&mut out[2..], serial, 0, 2);
    } else if starts_cjk && out.len() > 1 {
        mask_selected(&mut out[1..], serial, 0, 2);
    } else {
        mask_selected(out, |c| !c.is_whitespace(), 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shapes() {
        assert_eq!(mask("phone", "13812345678"), "138****5678");
        assert_eq!(mask("phone", "+86 138 1234 5678"), "+86 1** **** 5678");
        assert_eq!(
            mask("cn_resident_id", "11010119900307123X"),
            "1101**********123X"
        );
        assert_eq!(mask("email", "abcde@qq.com"), "ab***@qq.com");
        assert_eq!(mask("email", "ab@qq.com"), "a*@qq.com");
        assert_eq!(mask("email", "a@qq.com"), "*@qq.com");
        assert_eq!(mask("cn_license_plate", "京A12345"), "京A***45");
        assert_eq!(mask("cn_license_plate", "京A·12345"), "京A·***45");
        assert_eq!(mask("vin", "LFV2A21KXD4001234"), "LFV2*********1234");
    }

    #[test]
    fn full_width_forms_mask_like_ascii() {
        assert_eq!(
            mask("phone", "１３８００１３８０００"),
            "１３８****８０００"
        );
        assert_eq!(
            mask("phone", "１３８－００１３－８０００"),
            "１３８－****－８０００"
        );
        assert_eq!(mask("cn_license_plate", "京Ａ１２３４５"), "京Ａ***４５");
        assert_eq!(
            mask("cn_resident_id", "１１０１０５１９９００３０７１２３Ｘ"),
            "１１０１**********１２３Ｘ"
        );
        assert_eq!(
            mask("email", "ｅｍａｉｌ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
            "ｅｍ***＠ｅｘａｍｐｌｅ．ｃｏｍ"
        );
    }

    #[test]
    fn short_and_odd_values() {
        for (cat, v) in [
            ("phone", ""),
            ("phone", "1"),
            ("phone", "12"),
            ("phone", "abc"),
            ("email", "@"),
            ("email", "x"),
            ("vin", "AB"),
            ("cn_license_plate", "京"),
            ("cn_license_plate", "京A"),
            ("other", "ab"),
            ("other", "日本語テキスト"),
        ] {
            let m = mask(cat, v);
            assert_eq!(m.chars().count(), v.chars().count(), "{cat} {v}");
            assert_eq!(m, mask(cat, v));
        }
        assert_eq!(mask("phone", "12"), "1*");
        assert_eq!(mask("other", "ab"), "**");
        assert_eq!(mask("other", "abcdefgh"), "ab****gh");
    }
}
