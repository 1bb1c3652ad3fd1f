//! Keyed pseudonyms: `dwp1:` + base64url of the first 128 bits of HMAC-SHA-256(key, normalized
//! value). Deterministic per key, so equal values in different tables and runs get equal
//! pseudonyms and joins keep working; never an unkeyed hash.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::keys::Key;

/// The pseudonym prefix; a value starting with it is never pseudonymized again.
pub const PSEUDONYM_PREFIX: &str = "dwp1:";
/// Characters of every pseudonym (`dwp1:` + 22 base64url characters).
pub const PSEUDONYM_LEN: usize = PSEUDONYM_PREFIX.len() + 22;

/// True when `value` is a pseudonym: [`crate::transformed::is_pseudonym`].
pub fn is_pseudonym(value: &str) -> bool {
    crate::transformed::is_pseudonym(value)
}

/// Normalizes a value so that spellings of the same identifier pseudonymize alike: trimmed; e-mail
/// addresses lower-cased; phone numbers as E.164 where the country is known (Chinese mobiles get
/// `+86`), otherwise digits only; other ASCII alphanumeric identifiers (resident ID, VIN, plates)
/// upper-cased.
pub fn normalize(value: &str, out: &mut String) {
    out.clear();
    let v = value.trim();
    if v.contains('@') {
        out.extend(v.chars().flat_map(char::to_lowercase));
        return;
    }
    let phone_chars = v
        .bytes()
        .all(|b| b.is_ascii_digit() || b" +-().".contains(&b));
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    if phone_chars && (7..=15).contains(&digits) && !v.is_empty() {
        let plus = v.starts_with('+');
        let d: String = v.chars().filter(char::is_ascii_digit).collect();
        let cn_mobile =
            |s: &str| s.len() == 11 && s.starts_with('1') && matches!(s.as_bytes()[1], b'3'..=b'9');
        if !plus && cn_mobile(&d) {
            out.push_str("+86");
            out.push_str(&d);
        } else if !plus && d.len() == 15 && d.starts_with("0086") && cn_mobile(&d[4..]) {
            out.push_str("+86");
            out.push_str(&d[4..]);
        } else if !plus && d.len() == 13 && d.starts_with("86") && cn_mobile(&d[2..]) {
            out.push('+');
            out.push_str(&d);
        } else {
            if plus {
                out.push('+');
            }
            out.push_str(&d);
        }
        return;
    }
    if v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
    {
        out.extend(
            v.chars()
                .filter(|c| *c != ' ' && *c != '-')
                .map(|c| c.to_ascii_uppercase()),
        );
        return;
    }
    out.push_str(v);
}

/// Computes pseudonyms with one key; reuses its buffer across values.
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
    norm: String,
}

impl Pseudonymizer {
    /// A pseudonymizer keyed with `key` (`[keys] pseudonym`).
    pub fn new(key: &Key) -> Pseudonymizer {
        Pseudonymizer {
            mac: <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
                .expect("HMAC takes any key length"),
            norm: String::with_capacity(64),
        }
    }

    /// Appends the pseudonym of `value` to `out`.
    pub fn pseudonym_into(&mut self, value: &str, out: &mut String) {
        normalize(value, &mut self.norm);
        let mut mac = self.mac.clone();
        mac.update(self.norm.as_bytes());
        let tag = mac.finalize().into_bytes();
        out.push_str(PSEUDONYM_PREFIX);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(&tag[..16], out);
    }

    /// The pseudonym of `value`.
    pub fn pseudonym(&mut self, value: &str) -> String {
        let mut s = String::with_capacity(PSEUDONYM_LEN);
        self.pseudonym_into(value, &mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: &str) -> String {
        let mut s = String::new();
        normalize(v, &mut s);
        s
    }

    #[test]
    fn normalizes_identifiers() {
        assert_eq!(n(" 138 1234 5678 "), "+8613812345678");
        assert_eq!(n("+86 138-1234-5678"), "+8613812345678");
        assert_eq!(n("008613812345678"), "+8613812345678");
        assert_eq!(n("8613812345678"), "+8613812345678");
        assert_eq!(n("+1 (415) 555-0100"), "+14155550100");
        assert_eq!(n(" Zhang.San@Example.COM "), "zhang.san@example.com");
        assert_eq!(n("11010519491231002x"), "11010519491231002X");
        assert_eq!(n("lsvag2180e2100001"), "LSVAG2180E2100001");
        assert_eq!(n("张三"), "张三");
    }

    #[test]
    fn deterministic_keyed_and_fixed_length() {
        let k1 = Key::generate();
        let k2 = Key::generate();
        let mut p1 = Pseudonymizer::new(&k1);
        let a = p1.pseudonym("13812345678");
        assert_eq!(a, p1.pseudonym("+86 138 1234 5678"));
        assert_eq!(a.len(), PSEUDONYM_LEN);
        assert!(is_pseudonym(&a));
        assert_ne!(a, p1.pseudonym("13812345679"));
        assert_ne!(a, Pseudonymizer::new(&k2).pseudonym("13812345678"), "keyed");
    }
}
