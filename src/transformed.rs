//! Values that datawarden itself wrote: encryption envelopes, pseudonyms and masks. One test,
//! [`written_by_datawarden`], used by the retention code (a value already transformed is never
//! transformed again) and by the classifier (transformed values are counted apart and left out of
//! a column's share, so a partly transformed column stays flagged while raw values remain).
//!
//! The shapes:
//! - envelope: `dw1:` + an 8-hex-digit key id + `:` + base64url (no padding) of nonce, ciphertext
//!   and tag, at least 38 characters ([`crate::retention::crypto`]);
//! - pseudonym: `dwp1:` + exactly 22 base64url characters ([`crate::retention::pseudonym`]);
//! - mask: a `*` alone is a weak marker (`*urgent*`, `5 * 3`, Markdown), so a mask needs the
//!   shape of one the masker writes: every non-whitespace character is `*` (a value in which
//!   nothing was found), or a run of at least two `*` (every identifier mask hides at least a
//!   third of seven or more characters, in one run), or `*@` (the masked local part of a short
//!   e-mail address, `a*@qq.com`). The masker hides every identifier its detectors find, so the
//!   classifier additionally counts a mask-shaped value in which a detector still finds an
//!   identifier as raw (see [`crate::classify`]).

use crate::retention::crypto::ENVELOPE_PREFIX;
use crate::retention::pseudonym::{PSEUDONYM_LEN, PSEUDONYM_PREFIX};

/// The mask character.
pub const MASK: char = crate::detect::mask::MASK;

/// Which transform wrote a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// An AES-256-GCM envelope (`encrypt`).
    Envelope,
    /// A keyed pseudonym (`pseudonymize`).
    Pseudonym,
    /// A mask (`mask`).
    Mask,
}

fn is_b64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The transform that wrote `value`, or `None` when `value` does not have the shape of anything
/// datawarden writes (see the module documentation). Leading and trailing whitespace is ignored.
pub fn written_by_datawarden(value: &str) -> Option<Written> {
    let v = value.trim();
    if is_envelope(v) {
        Some(Written::Envelope)
    } else if is_pseudonym(v) {
        Some(Written::Pseudonym)
    } else if is_mask(v) {
        Some(Written::Mask)
    } else {
        None
    }
}

/// [`written_by_datawarden`] for raw bytes (as a scan reads them), without the masks: an
/// envelope or a pseudonym, found from the prefixes. Values starting with neither (almost all)
/// are answered without a UTF-8 check; a value starting with what may be a non-ASCII space (lead
/// bytes C2, E1-E3: U+00A0, U+3000, ...) takes the full check, which trims Unicode whitespace.
/// Masks are asked about apart ([`is_mask_bytes`]), where nothing else answered.
pub fn envelope_or_pseudonym_bytes(value: &[u8]) -> Option<Written> {
    let v = value.trim_ascii_start();
    let marked = v.starts_with(ENVELOPE_PREFIX.as_bytes())
        || v.starts_with(PSEUDONYM_PREFIX.as_bytes())
        || matches!(v.first(), Some(0xC2 | 0xE1..=0xE3));
    if !marked {
        return None;
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(written_by_datawarden)
        .filter(|w| *w != Written::Mask)
}

/// [`is_mask`] for raw bytes, leading and trailing whitespace ignored: values without `*` are
/// answered without a UTF-8 check.
pub fn is_mask_bytes(value: &[u8]) -> bool {
    memchr::memchr(MASK as u8, value).is_some()
        && std::str::from_utf8(value).is_ok_and(|text| is_mask(text.trim()))
}

/// True when `value` has the shape of an encryption envelope.
pub fn is_envelope(value: &str) -> bool {
    let Some(rest) = value.strip_prefix(ENVELOPE_PREFIX) else {
        return false;
    };
    let Some((id, data)) = rest.split_once(':') else {
        return false;
    };
    // 12-byte nonce + 16-byte tag: at least 38 base64url characters.
    id.len() == 8
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && data.len() >= 38
        && is_b64url(data)
}

/// True when `value` has the shape of a pseudonym.
pub fn is_pseudonym(value: &str) -> bool {
    value.len() == PSEUDONYM_LEN && value.strip_prefix(PSEUDONYM_PREFIX).is_some_and(is_b64url)
}

/// True when `value` has the shape of a mask the masker writes.
pub fn is_mask(value: &str) -> bool {
    if !value.contains(MASK) {
        return false;
    }
    value.contains("**")
        || value.contains("*@")
        || value.chars().all(|c| c == MASK || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_pseudonyms_need_their_full_shape() {
        let env = format!("dw1:0a1b2c3d:{}", "A".repeat(52));
        assert_eq!(written_by_datawarden(&env), Some(Written::Envelope));
        assert_eq!(
            written_by_datawarden(&format!(" {env} ")),
            Some(Written::Envelope)
        );
        for raw in [
            "dw1:",
            "dw1:13812345678",
            "dw1:0a1b2c3d:short",
            "dw1:zzzzzzzz:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(written_by_datawarden(raw), None, "{raw}");
        }
        assert_eq!(
            written_by_datawarden("dwp1:AbCdEfGhIjKlMnOpQrStUv"),
            Some(Written::Pseudonym)
        );
        for raw in ["dwp1:", "dwp1:13812345678", "dwp1:AbCdEfGhIjKlMnOpQrStUvW"] {
            assert_eq!(written_by_datawarden(raw), None, "{raw}");
        }
    }

    #[test]
    fn the_byte_test_answers_as_the_text_test() {
        let env = format!("dw1:0a1b2c3d:{}", "A".repeat(52));
        for v in [
            env.as_str(),
            " dw1:0a1b2c3d:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
            "\tdwp1:AbCdEfGhIjKlMnOpQrStUv",
            "\u{3000}dwp1:AbCdEfGhIjKlMnOpQrStUv\u{a0}",
            "\u{2003}dw1:0a1b2c3d:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "dwp1:AbCdEfGhIjKlMnOpQrStUv",
            "138****5678",
            "a*@qq.com",
            " *** ",
            "5 * 3",
            "13812345678",
            "",
            "张*",
            "\u{3000}138****5678",
            "\u{a0}5 * 3",
        ] {
            let want = written_by_datawarden(v);
            let bytes = envelope_or_pseudonym_bytes(v.as_bytes())
                .or_else(|| is_mask_bytes(v.as_bytes()).then_some(Written::Mask));
            assert_eq!(bytes, want, "{v:?}");
        }
        assert!(!is_mask_bytes(b"\xff**"));
        assert_eq!(envelope_or_pseudonym_bytes(b"\xc2dw1:"), None);
    }

    #[test]
    fn masks_need_the_shape_of_a_datawarden_mask() {
        for masked in [
            "138****5678",
            "+86 1** **** 5678",
            "1101**********123X",
            "ab***@qq.com",
            "a*@qq.com",
            "*@qq.com",
            "京A***45",
            "LFV2*********1234",
            "*",
            "***** **** **** ***",
            "138****5678 called; mail li****@example.com",
        ] {
            assert_eq!(
                written_by_datawarden(masked),
                Some(Written::Mask),
                "{masked}"
            );
        }
        for raw in [
            "*urgent* call back",
            "5 * 3",
            "a*b",
            "13812345678",
            "",
            "note: *",
        ] {
            assert_eq!(written_by_datawarden(raw), None, "{raw}");
        }
    }

    /// Every mask the masker writes passes the test (the retention code relies on it never to
    /// mask a value twice).
    #[test]
    fn every_masker_output_is_recognised() {
        let mut m = crate::retention::mask::Masker::new(
            crate::detect::Engine::load(None).expect("built-in detectors"),
        );
        for v in [
            "13812345678",
            "1381234",
            "+86 138 1234 5678",
            "zhangsan@example.com",
            "ab@qq.com",
            "a@qq.com",
            "11010119900307123X",
            "LFV2A21KXD4001234",
            "京A12345",
            "x",
            "张三",
            "Zhang San, Room 301",
            "call 13812345678 or mail a@b.cn",
        ] {
            let mut out = String::new();
            m.mask_into(v, &mut out);
            assert_eq!(
                written_by_datawarden(&out),
                Some(Written::Mask),
                "{v} -> {out}"
            );
        }
    }
}
