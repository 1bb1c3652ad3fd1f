//! Email addresses, found from the `@` (or full-width `＠`) outwards.
//!
//! - Local part: the run of `[A-Za-z0-9._%+-]` before the at sign (CJK text before it is not
//!   absorbed: `邮箱abc@qq.com` holds `abc@qq.com`); when that run is empty, the run of non-ASCII
//!   letters (internationalised `用户@例子.广告`). At most 64 octets, no leading (stripped as
//!   punctuation), trailing or doubled dots.
//! - Domain: dot-separated labels; an ASCII domain stops at the first non-ASCII character, an
//!   internationalised one at whitespace or punctuation (full-width `。，）` included). Trailing dots
//!   are sentence punctuation. At least two labels of 1-63 octets, no label starting or ending with
//!   a hyphen, at most 253 octets; the top-level label is letters (or `xn--` punycode, or non-ASCII)
//!   of two or more characters and not an image or file extension (`image@2x.png`,
//!   `package@1.2.3`).
//! - Whole address at most 254 octets.

use super::{Ctx, Verdict};

const FULLWIDTH_AT: &[u8] = "＠".as_bytes();

/// True for the file extensions that look like top-level domains in `name@2x.png` asset names
/// (any case).
fn is_file_extension(last: &[u8]) -> bool {
    let mut lower = [0u8; 4];
    let Some(lower) = lower.get_mut(..last.len()) else {
        return false;
    };
    lower.copy_from_slice(last);
    lower.make_ascii_lowercase();
    matches!(
        &*lower,
        b"png"
            | b"jpg"
            | b"jpeg"
            | b"gif"
            | b"svg"
            | b"webp"
            | b"bmp"
            | b"ico"
            | b"tif"
            | b"tiff"
            | b"avif"
            | b"heic"
            | b"js"
            | b"css"
            | b"json"
            | b"tgz"
            | b"gz"
            | b"zip"
    )
}

/// The bytes of a local part.
static LOCAL: [bool; 256] =
    byte_set!(b => b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-'));

/// The ASCII bytes of a domain: letters, digits, hyphens and the dots between labels.
static DOMAIN: [bool; 256] = byte_set!(b => b.is_ascii_alphanumeric() || b == b'-' || b == b'.');

#[inline]
fn is_local(b: u8) -> bool {
    LOCAL[b as usize]
}

/// True for non-ASCII characters that can be part of an internationalised name (not punctuation,
/// symbols or spaces).
fn is_intl_letter(c: char) -> bool {
    !c.is_ascii()
        && !c.is_whitespace()
        && !matches!(c as u32,
            0x2000..=0x206F   // general punctuation
            | 0x3000..=0x303F // CJK symbols and punctuation
            | 0xFE30..=0xFE4F // CJK compatibility forms
            | 0xFF00..=0xFF0F // full-width ！＂＃...／
            | 0xFF1A..=0xFF20 // full-width ：；＜＝＞？＠
            | 0xFF3B..=0xFF40
            | 0xFF5B..=0xFF65
            | 0x00A0..=0x00BF
            | 0xFFFD)
}

/// The character starting at `i`, with its length.
fn char_at(hay: &[u8], i: usize) -> Option<(char, usize)> {
    let b = *hay.get(i)?;
    let len = match b {
        0x00..=0x7F => return Some((b as char, 1)),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let s = std::str::from_utf8(hay.get(i..i + len)?).ok()?;
    s.chars().next().map(|c| (c, len))
}

/// The character ending at `i`, with its length.
fn char_before(hay: &[u8], i: usize) -> Option<(char, usize)> {
    let mut j = i.checked_sub(1)?;
    while j > 0 && i - j < 4 && (hay[j] & 0xC0) == 0x80 {
        j -= 1;
    }
    match char_at(hay, j) {
        Some((c, len)) if j + len == i => Some((c, len)),
        _ => None,
    }
}

/// The span of the address around the at sign at `[at, at_end)`, when it is one.
pub fn around(hay: &[u8], at: usize, at_end: usize) -> Option<(usize, usize)> {
    // Local part.
    let mut ls = at;
    while ls > 0 && is_local(hay[ls - 1]) {
        ls -= 1;
    }
    if ls == at {
        while let Some((c, len)) = char_before(hay, ls) {
            if !is_intl_letter(c) || at - ls > 64 {
                break;
            }
            ls -= len;
        }
    }
    while ls < at && hay[ls] == b'.' {
        ls += 1;
    }
    let local = &hay[ls..at];
    if local.is_empty() || local.len() > 64 || local.ends_with(b".") || has_double_dot(local) {
        return None;
    }
    // Domain.
    let intl = match char_at(hay, at_end) {
        Some((c, _)) if c.is_ascii() => {
            if !c.is_ascii_alphanumeric() {
                return None;
            }
            false
        }
        Some((c, _)) if is_intl_letter(c) => true,
        _ => return None,
    };
    let mut de = at_end;
    while de - at_end <= 253 {
        // ASCII bytes by table; a character decoded only where a non-ASCII one starts.
        match hay.get(de) {
            Some(&b) if b.is_ascii() && DOMAIN[b as usize] => de += 1,
            Some(&b) if !b.is_ascii() && intl => match char_at(hay, de) {
                Some((c, len)) if is_intl_letter(c) => de += len,
                _ => break,
            },
            _ => break,
        }
    }
    while de > at_end && hay[de - 1] == b'.' {
        de -= 1;
    }
    let domain = &hay[at_end..de];
    if domain.is_empty()
        || domain.len() > 253
        || (at - ls) + (at_end - at).min(1) + domain.len() > 254
    {
        return None;
    }
    if !valid_domain(domain) {
        return None;
    }
    Some((ls, de))
}

fn has_double_dot(s: &[u8]) -> bool {
    s.windows(2).any(|w| w == b"..")
}

fn valid_domain(domain: &[u8]) -> bool {
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return false;
    }
    let tld_ok = if last.is_ascii() {
        (last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic))
            || (last.len() > 4 && last[..4].eq_ignore_ascii_case(b"xn--"))
    } else {
        true
    };
    // File extensions are 2-4 letters long.
    tld_ok && !is_file_extension(last)
}

/// Validator `email`: the candidate is the at sign (`@` or `＠`).
pub fn check(hay: &[u8], start: usize, end: usize, _ctx: &Ctx) -> Verdict {
    let at = &hay[start..end];
    if at != b"@" && at != FULLWIDTH_AT {
        return Verdict::Reject;
    }
    match around(hay, start, end) {
        Some((s, e)) => Verdict::Accept {
            start: s,
            end: e,
            weak: false,
        },
        None => Verdict::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finds the first address in `text` (test helper scanning every at sign).
    fn find(text: &str) -> Option<&str> {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let len = if b[i] == b'@' {
                1
            } else if b[i..].starts_with(FULLWIDTH_AT) {
                3
            } else {
                i += 1;
                continue;
            };
            if let Verdict::Accept { start, end, .. } = check(
                b,
                i,
                i + len,
                &Ctx {
                    today: 0,
                    ..Ctx::now()
                },
            ) {
                return Some(&text[start..end]);
            }
            i += len;
        }
        None
    }

    #[test]
    fn valid_addresses() {
        assert_eq!(find("alice@example.com"), Some("alice@example.com"));
        assert_eq!(find("123456789@qq.com"), Some("123456789@qq.com"));
        assert_eq!(
            find("first.last+tag@mail.example.co.uk"),
            Some("first.last+tag@mail.example.co.uk")
        );
        assert_eq!(find("用户@例子.广告"), Some("用户@例子.广告"));
        assert_eq!(find("abc＠163.com"), Some("abc＠163.com"));
        assert_eq!(
            find("user@xn--fiqs8s.xn--fiqz9s"),
            Some("user@xn--fiqs8s.xn--fiqz9s")
        );
    }

    #[test]
    fn chinese_text_around() {
        assert_eq!(find("邮箱abc@qq.com联系"), Some("abc@qq.com"));
        assert_eq!(find("请发邮件至abc@qq.com。谢谢"), Some("abc@qq.com"));
        assert_eq!(find("（联系：abc@qq.com）"), Some("abc@qq.com"));
        assert_eq!(find("Mail me at bob@example.org."), Some("bob@example.org"));
        assert_eq!(find("..bob@example.org"), Some("bob@example.org"));
        // Top-level domains near a file extension are not one.
        assert_eq!(find("ann@studio.pngs"), Some("ann@studio.pngs"));
        assert_eq!(find("ann@studio.jsx"), Some("ann@studio.jsx"));
    }

    #[test]
    fn not_addresses() {
        for s in [
            "image@2x.png",
            "icon@3x.jpg",
            "sprite@2x.WEBP",
            "bundle@1x.Tiff",
            "package@1.2.3",
            "example.com",
            "user@",
            "@domain.com",
            "user@localhost",
            "a..b@example.com",
            "a.@example.com",
            "a@-example.com",
            "a@example-.com",
            "a@example..com",
            "a@example.c",
            "a@192.168.1.1",
        ] {
            assert_eq!(find(s), None, "{s}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(find(&long_local), None);
        let long_domain = format!("a@{}.com", "b".repeat(64));
        assert_eq!(find(&long_domain), None);
    }
}
