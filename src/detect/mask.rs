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
        "bank_card" => mask_selected(&mut out, |c| c.is_ascii_digit(), 0, 4),
        "person_name" => mask_name(&mut out),
        "address" => mask_address(&mut out),
        "ip_address" => mask_after_nth(&mut out, if value.contains(':') { ':' } else { '.' }, 2),
        "mac_address" => mask_after(&mut out, 8),
        "imei" => mask_after(&mut out, 8),
        "cn_passport" => mask_selected(&mut out, |c| c.is_ascii_alphanumeric(), 1, 2),
        "birth_date" => mask_selected(&mut out, |c| c.is_ascii_digit(), 4, 0),
        "geo_location" => mask_decimals(&mut out, 2),
        _ => mask_selected(&mut out, |c| !c.is_whitespace(), 0, 0),
    }
    out.into_iter().collect()
}

/// The ASCII character `c` folds to, or `c`.
fn ascii(c: char) -> char {
    fold_char(c).unwrap_or(c)
}

/// Every character from `keep` on becomes `*` (whitespace stays).
fn mask_after(out: &mut [char], keep: usize) {
    let keep = keep.min(out.len().saturating_sub(2));
    for c in out.iter_mut().skip(keep) {
        if !c.is_whitespace() {
            *c = MASK;
        }
    }
}

/// Keeps the text before the `n`-th `sep` (`192.168.` of an IPv4 address, `2408:8207:` of an
/// IPv6 one); everything after it becomes `*`, separators included (so short parts still leave
/// a `**` run).
fn mask_after_nth(out: &mut [char], sep: char, n: usize) {
    let at = out
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == sep)
        .nth(n - 1)
        .map_or(0, |(i, _)| i + 1);
    mask_after(out, at);
}

/// `张小明` -> `张**`, `欧阳娜娜` -> `欧***`, `John Smith` -> `**** S****`: the surname's first
/// character stays. Two-character Chinese names are masked entirely (`**`): `张*` would not have
/// the shape of a mask (`crate::transformed::is_mask` needs `**`).
fn mask_name(out: &mut [char]) {
    let cjk = out.iter().any(|c| !c.is_ascii());
    let keep = if cjk {
        let letters = out
            .iter()
            .filter(|c| !c.is_whitespace() && !is_dot(**c))
            .count();
        (letters >= 3).then_some(0)
    } else {
        // The family name: the first word of "Last, First", else the last word.
        let comma = out.iter().position(|&c| c == ',');
        match comma {
            Some(_) => out.iter().position(|c| c.is_ascii_alphabetic()),
            None => {
                let end = out.iter().rposition(|c| c.is_ascii_alphabetic());
                end.map(|e| {
                    let mut s = e;
                    while s > 0 && out[s - 1].is_ascii_alphabetic() {
                        s -= 1;
                    }
                    s
                })
            }
        }
    };
    for (i, c) in out.iter_mut().enumerate() {
        if Some(i) != keep && !c.is_whitespace() && !is_dot(*c) && *c != ',' {
            *c = MASK;
        }
    }
}

fn is_dot(c: char) -> bool {
    matches!(c, '·' | '•' | '・' | '.')
}

/// Chinese: the leading province and city names stay (`广东省深圳市*********`), the rest is
/// masked; without a leading division name everything is. English: the street part (up to the
/// first comma) is masked, the city, state and ZIP code stay.
fn mask_address(out: &mut [char]) {
    let cjk = out.iter().any(|c| !c.is_ascii());
    let keep = if cjk {
        let text: String = out.iter().collect();
        let divisions = &super::dicts::builtin().cn_divisions;
        let bytes = text.as_bytes();
        let mut end = 0;
        for _ in 0..2 {
            match divisions.prefix_at(bytes, end) {
                Some(e) => end = e,
                None => break,
            }
        }
        text[..end].chars().count()
    } else {
        match out.iter().position(|&c| c == ',') {
            Some(comma) => {
                for c in out[..comma].iter_mut() {
                    if !c.is_whitespace() {
                        *c = MASK;
                    }
                }
                return;
            }
            None => 0,
        }
    };
    mask_after(out, keep);
}

/// Keeps `keep` decimals of each number (`39.90****,116.40****`).
fn mask_decimals(out: &mut [char], keep: usize) {
    let mut after_dot: Option<usize> = None;
    for c in out.iter_mut() {
        if *c == '.' {
            after_dot = Some(0);
        } else if c.is_ascii_digit() {
            if let Some(k) = &mut after_dot {
                if *k >= keep {
                    *c = MASK;
                }
                *k += 1;
            }
        } else {
            after_dot = None;
        }
    }
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
    fn later_categories_keep_what_the_rules_allow_and_read_as_masks() {
        let cases = [
            ("bank_card", "6228480012345678901", "***************8901"),
            ("bank_card", "4111 1111 1111 1111", "**** **** **** 1111"),
            ("person_name", "张小明", "张**"),
            ("person_name", "欧阳娜娜", "欧***"),
            ("person_name", "张伟", "**"),
            ("person_name", "John Smith", "**** S****"),
            ("person_name", "Smith, John", "S****, ****"),
            (
                "address",
                "广东省深圳市南山区科技园路1号",
                "广东省深圳市*********",
            ),
            ("address", "建国路88号", "******"),
            (
                "address",
                "123 Main St, Springfield, IL 62704",
                "*** **** **, Springfield, IL 62704",
            ),
            ("ip_address", "192.168.1.20", "192.168.****"),
            ("ip_address", "2408:8207:2463::1", "2408:8207:*******"),
            ("mac_address", "00:1A:2B:3C:4D:5E", "00:1A:2B*********"),
            ("imei", "490154203237518", "49015420*******"),
            ("cn_passport", "E12345678", "E******78"),
            ("birth_date", "1990-03-07", "1990-**-**"),
            (
                "geo_location",
                "39.904211,116.407395",
                "39.90****,116.40****",
            ),
        ];
        for (cat, raw, want) in cases {
            let got = mask(cat, raw);
            assert_eq!(got, want, "{cat}");
            assert_eq!(got.chars().count(), raw.chars().count());
            assert!(crate::transformed::is_mask(&got), "{cat}: {got}");
        }
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
