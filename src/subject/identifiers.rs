//! A person's identifiers as a request names them: checked, normalized as the detectors and the
//! pseudonyms normalize values ([`crate::retention::pseudonym::normalize`]), the spellings an
//! indexed equality searches, and [`SpanEraser`], which finds and replaces the person's spans in
//! free text.

use serde::Serialize;

use crate::detect::{Engine, Match};
use crate::retention::pseudonym;

/// What an identifier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Phone,
    Email,
    IdNumber,
    Vin,
    Plate,
    BankCard,
    Passport,
    Ip,
}

impl Kind {
    /// The detector category whose columns hold this kind of identifier.
    pub fn category(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::IdNumber => "cn_resident_id",
            Kind::Vin => "vin",
            Kind::Plate => "cn_license_plate",
            Kind::BankCard => "bank_card",
            Kind::Passport => "cn_passport",
            Kind::Ip => "ip_address",
        }
    }

    /// The command-line option naming it.
    pub fn option(self) -> &'static str {
        match self {
            Kind::Phone => "--phone",
            Kind::Email => "--email",
            Kind::IdNumber => "--id-number",
            Kind::Vin => "--vin",
            Kind::Plate => "--plate",
            Kind::BankCard => "--bank-card",
            Kind::Passport => "--passport",
            Kind::Ip => "--ip",
        }
    }
}

/// One identifier of the person, normalized. Its raw text is never printed: [`Identifier::masked`].
#[derive(Clone, PartialEq, Eq)]
pub struct Identifier {
    /// What it is.
    pub kind: Kind,
    /// The normalized value ([`normalize`]).
    pub normalized: String,
}

impl std::fmt::Debug for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identifier({:?}, {})", self.kind, self.masked())
    }
}

/// Normalizes `value` as a value of detector category `category`: plates upper-cased without
/// separators (`京A·12345` -> `京A12345`), bank cards as their digits, IP addresses in their
/// canonical form (`2408:8207::1`), everything else as pseudonyms normalize it (phones as E.164
/// where the country is known, e-mails lower-cased, IDs, VINs and passports upper-cased).
pub fn normalize(category: &str, value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 3);
    if category == "bank_card" {
        let v = value.trim();
        if v.bytes()
            .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
        {
            out.extend(v.chars().filter(char::is_ascii_digit));
        } else {
            out.push_str(v);
        }
    } else if category == "ip_address" {
        match value.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => out.push_str(&ip.to_string()),
            Err(_) => out.push_str(value.trim()),
        }
    } else if category == "cn_license_plate" {
        out.extend(
            value
                .trim()
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '·' | '•' | '.'))
                .map(|c| c.to_ascii_uppercase()),
        );
    } else {
        pseudonym::normalize(value, &mut out);
    }
    out
}

impl Identifier {
    /// Checks and normalizes `raw` as a `kind`; the error says what is wrong without repeating
    /// the value.
    pub fn parse(kind: Kind, raw: &str) -> Result<Identifier, String> {
        let v = raw.trim();
        let bad = |what: &str| Err(format!("{}: {what}", kind.option()));
        match kind {
            Kind::Phone => {
                let digits = v.bytes().filter(u8::is_ascii_digit).count();
                if !v
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
                {
                    return bad("a phone number holds digits, spaces, +, -, ( ) and . only");
                }
                if !(7..=15).contains(&digits) {
                    return bad("a phone number has 7 to 15 digits");
                }
            }
            Kind::Email => {
                let at = v.bytes().filter(|&b| b == b'@').count();
                if at != 1
                    || v.starts_with('@')
                    || v.ends_with('@')
                    || v.contains(char::is_whitespace)
                {
                    return bad("an e-mail address is local@domain, without spaces");
                }
            }
            Kind::IdNumber => {
                let ok = v.len() == 18
                    && v[..17].bytes().all(|b| b.is_ascii_digit())
                    && matches!(v.as_bytes()[17], b'0'..=b'9' | b'x' | b'X');
                if !ok {
                    return bad("a resident ID number has 17 digits and a digit or X");
                }
            }
            Kind::Vin => {
                if v.len() != 17 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return bad("a VIN has 17 letters and digits");
                }
            }
            Kind::Plate => {
                let n = v.chars().filter(|c| c.is_alphanumeric()).count();
                if !(6..=9).contains(&n) {
                    return bad("a plate has 6 to 9 characters (e.g. 京A12345)");
                }
            }
            Kind::BankCard => {
                let digits: Vec<u8> = v
                    .bytes()
                    .filter(u8::is_ascii_digit)
                    .map(|b| b - b'0')
                    .collect();
                if !v
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
                    || !(13..=19).contains(&digits.len())
                    || !crate::detect::validators::luhn::valid(&digits)
                {
                    return bad("a bank card number has 13 to 19 digits and a valid check digit");
                }
            }
            Kind::Passport => {
                let b = v.as_bytes();
                let ok = (8..=9).contains(&b.len())
                    && b[0].is_ascii_alphabetic()
                    && b[1..].iter().all(u8::is_ascii_alphanumeric)
                    && b[2..].iter().all(u8::is_ascii_digit);
                if !ok {
                    return bad(
                        "a passport number is a letter and 7 or 8 more letters/digits (E12345678)",
                    );
                }
            }
            Kind::Ip => {
                if v.parse::<std::net::IpAddr>().is_err() {
                    return bad("an IP address is IPv4 (203.0.113.7) or IPv6 (2408:8207::1)");
                }
            }
        }
        Ok(Identifier {
            kind,
            normalized: normalize(kind.category(), v),
        })
    }

    /// The detector category of this identifier.
    pub fn category(&self) -> &'static str {
        self.kind.category()
    }

    /// The identifier masked as examples are (`+86138****8000`): what is printed and exported.
    pub fn masked(&self) -> String {
        crate::detect::mask(self.category(), &self.normalized)
    }

    /// True when `value`, read as a value of this identifier's category, is this identifier.
    pub fn is(&self, value: &str) -> bool {
        normalize(self.category(), value) == self.normalized
    }

    /// The spellings an equality on an indexed column searches: the normalized form and the ways
    /// the detectors accept it to be written (`13800138000`, `138-0013-8000`,
    /// `+86 138 0013 8000`, ...; e-mail as given lower-cased; IDs with x and X).
    pub fn spellings(&self) -> Vec<String> {
        let n = &self.normalized;
        let mut out = vec![n.clone()];
        match self.kind {
            Kind::Phone => {
                if let Some(d) = n.strip_prefix("+86").filter(|d| d.len() == 11) {
                    let (a, b, c) = (&d[..3], &d[3..7], &d[7..]);
                    for local in [
                        d.to_string(),
                        format!("{a}-{b}-{c}"),
                        format!("{a} {b} {c}"),
                    ] {
                        for prefix in [
                            "", "+86", "+86 ", "+86-", "86", "86 ", "0086", "0086 ", "(+86) ",
                            "(+86)",
                        ] {
                            out.push(format!("{prefix}{local}"));
                        }
                    }
                } else if let Some(d) = n.strip_prefix('+') {
                    out.push(d.to_string());
                    out.push(format!("00{d}"));
                } else {
                    out.push(format!("+{n}"));
                }
            }
            Kind::IdNumber | Kind::Vin | Kind::Passport => out.push(n.to_ascii_lowercase()),
            Kind::BankCard => {
                let groups: Vec<&str> = n
                    .as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).expect("digits"))
                    .collect();
                out.push(groups.join(" "));
                out.push(groups.join("-"));
            }
            Kind::Ip => {
                if n.contains(':') {
                    out.push(n.to_ascii_uppercase());
                }
            }
            Kind::Plate => {
                let chars: Vec<char> = n.chars().collect();
                if chars.len() > 2 {
                    let (head, tail): (String, String) =
                        (chars[..2].iter().collect(), chars[2..].iter().collect());
                    for sep in ["·", " ", "-", "•"] {
                        out.push(format!("{head}{sep}{tail}"));
                    }
                }
            }
            Kind::Email => {}
        }
        out.sort();
        out.dedup();
        out
    }

    /// A cheap test before the detectors run on a value: the identifier's last four digits (or
    /// characters) occur in it, case-insensitively.
    pub fn may_occur_in(&self, value: &[u8]) -> bool {
        let tail: Vec<u8> = match self.kind {
            Kind::Email => {
                // The domain is never reformatted.
                let at = self.normalized.find('@').unwrap_or(0);
                self.normalized.as_bytes()[at..].to_vec()
            }
            _ => {
                let b = self.normalized.as_bytes();
                b[b.len().saturating_sub(4)..].to_vec()
            }
        };
        if tail.is_empty() {
            return true;
        }
        value
            .windows(tail.len())
            .any(|w| w.eq_ignore_ascii_case(&tail))
    }
}

/// Finds the person's identifiers in values: a whole value that is one of them, or the spans
/// the detectors find in free text whose normalized form is one of them.
pub struct SpanEraser {
    engine: Engine,
    /// Normalized identifiers.
    idents: Vec<String>,
    supported: Vec<bool>,
    found: Vec<Match>,
}

impl SpanEraser {
    /// An eraser of `idents` (normalized, see [`normalize`]).
    pub fn new(engine: Engine, idents: Vec<String>) -> SpanEraser {
        let supported = vec![true; engine.detectors().len()];
        SpanEraser {
            engine,
            idents,
            supported,
            found: Vec::new(),
        }
    }

    /// The byte spans of `value` that are one of the identifiers, with their categories: the
    /// whole value when it is one, else the detectors' matches that are.
    pub fn spans(&mut self, value: &str) -> Vec<(usize, usize, String)> {
        let trimmed = value.trim();
        let lead = value.len() - value.trim_start().len();
        for cat in [
            "phone",
            "email",
            "cn_resident_id",
            "vin",
            "cn_license_plate",
            "bank_card",
            "cn_passport",
            "ip_address",
        ] {
            if self.idents.contains(&normalize(cat, trimmed)) && !trimmed.is_empty() {
                return vec![(lead, lead + trimmed.len(), cat.to_string())];
            }
        }
        self.engine
            .find_supported(value.as_bytes(), &self.supported, &mut self.found);
        let mut out: Vec<(usize, usize, String)> = Vec::new();
        for m in &self.found {
            if out.last().is_some_and(|(_, end, _)| m.start < *end) {
                continue;
            }
            let (Some(span), cat) = (
                value.get(m.start..m.end),
                &self.engine.detectors()[m.detector].category,
            ) else {
                continue;
            };
            if self.idents.contains(&normalize(cat, span)) {
                out.push((m.start, m.end, cat.clone()));
            }
        }
        out
    }

    /// `value` with each of the person's spans replaced by `replace(category, span)`; `None`
    /// when it holds none.
    pub fn erase(
        &mut self,
        value: &str,
        replace: &mut dyn FnMut(&str, &str) -> String,
    ) -> Option<String> {
        let spans = self.spans(value);
        if spans.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(value.len());
        let mut at = 0;
        for (start, end, cat) in spans {
            out.push_str(&value[at..start]);
            out.push_str(&replace(&cat, &value[start..end]));
            at = end;
        }
        out.push_str(&value[at..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_spellings_normalize_alike() {
        let id = Identifier::parse(Kind::Phone, "13800138000").unwrap();
        for s in [
            "138-0013-8000",
            "+86 138 0013 8000",
            "+8613800138000",
            "008613800138000",
        ] {
            assert!(id.is(s), "{s}");
        }
        assert!(!id.is("13800138001"));
        let sp = id.spellings();
        assert!(sp.contains(&"138-0013-8000".to_string()));
        assert!(sp.contains(&"+86 138 0013 8000".to_string()));
        assert!(sp.contains(&"13800138000".to_string()));
    }

    #[test]
    fn email_and_id_case() {
        let e = Identifier::parse(Kind::Email, "Li.Lei@Example.com").unwrap();
        assert!(e.is("li.lei@example.COM"));
        let i = Identifier::parse(Kind::IdNumber, "11010519491231002x").unwrap();
        assert!(i.is("11010519491231002X"));
        assert!(Identifier::parse(Kind::Phone, "12ab").is_err());
        assert!(Identifier::parse(Kind::Email, "no-at").is_err());
    }

    #[test]
    fn bank_card_passport_and_ip_identifiers() {
        let card = Identifier::parse(Kind::BankCard, "6228 4800 1234 5678 903").unwrap();
        assert_eq!(card.normalized, "6228480012345678903");
        assert!(card.is("6228-4800-1234-5678-903"));
        assert!(card
            .spellings()
            .contains(&"6228 4800 1234 5678 903".to_string()));
        // A wrong check digit is refused, and the message does not repeat the number.
        let err = Identifier::parse(Kind::BankCard, "6228480012345678901").unwrap_err();
        assert!(
            err.starts_with("--bank-card:") && !err.contains("622848"),
            "{err}"
        );
        let p = Identifier::parse(Kind::Passport, "e12345678").unwrap();
        assert_eq!(p.normalized, "E12345678");
        assert!(Identifier::parse(Kind::Passport, "E1234").is_err());
        let ip = Identifier::parse(Kind::Ip, "2408:8207:0:0::1").unwrap();
        assert_eq!(ip.normalized, "2408:8207::1");
        assert!(ip.is("2408:8207:0000:0000:0000:0000:0000:0001"));
        assert!(Identifier::parse(Kind::Ip, "300.1.1.1").is_err());
    }

    #[test]
    fn eraser_changes_only_the_persons_spans() {
        let engine = Engine::load(None).unwrap();
        let id = Identifier::parse(Kind::Phone, "13800138000").unwrap();
        let mut e = SpanEraser::new(engine, vec![id.normalized.clone()]);
        let text = "call 138-0013-8000 or my wife 13912345678";
        let out = e
            .erase(text, &mut |c, s| crate::detect::mask(c, s))
            .unwrap();
        assert!(out.contains("13912345678"), "{out}");
        assert!(!out.contains("138-0013-8000"), "{out}");
        assert_eq!(
            e.erase("nothing here 13912345678", &mut |_, s| s.into()),
            None
        );
        assert_eq!(
            e.erase(" 13800138000", &mut |_, _| "X".into()).as_deref(),
            Some(" X")
        );
    }
}
