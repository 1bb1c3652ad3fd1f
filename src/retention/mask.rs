//! The mask action: shape-keeping masks (`13812345678` -> `138****5678`) from
//! [`crate::detect::mask::mask`]. A value with the shape of a mask ([`crate::transformed::is_mask`]:
//! all `*`, a run of `**`, or `*@`) counts as masked and is never masked again.
//!
//! What is masked ([`Masker::mask_into`]):
//! - a whole value that is one identifier (the detectors find one span covering it, or, when they
//!   find none, its shape is a phone, email, resident ID or VIN: [`category_of`]) gets that
//!   category's mask, as in the examples above;
//! - free text gets every span the detectors find masked by its detector's rule (a phone keeps its
//!   first 3 and last 4 digits, an email the first two characters and the domain, ...); the text
//!   between spans stays;
//! - a value in which nothing is found is masked entirely: every non-whitespace character becomes
//!   `*` (length and spaces kept), since nothing in it is known to be safe to keep (a name, an
//!   address).

use crate::detect::mask::{mask, MASK};
use crate::detect::{Engine, Match};

/// True when `value` is already masked: [`crate::transformed::is_mask`].
pub fn is_masked(value: &str) -> bool {
    crate::transformed::is_mask(value)
}

/// The detector category whose mask fits `value` as a whole: `email`, `phone`, `cn_resident_id`,
/// `vin`, or `""` (not one identifier).
pub fn category_of(value: &str) -> &'static str {
    let v = value.trim();
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    if v.bytes().filter(|&b| b == b'@').count() == 1
        && !v.chars().any(char::is_whitespace)
        && !v.starts_with('@')
    {
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

/// Masks values with the detection engine (see the module documentation).
pub struct Masker {
    engine: Engine,
    /// Every detector counts as supported: weak matches (15-digit legacy IDs, bare 10-digit
    /// numbers) are masked too.
    supported: Vec<bool>,
    found: Vec<Match>,
    hidden: Vec<bool>,
}

impl Masker {
    /// A masker running `engine`'s detectors.
    pub fn new(engine: Engine) -> Masker {
        let supported = vec![true; engine.detectors().len()];
        Masker {
            engine,
            supported,
            found: Vec::new(),
            hidden: Vec::new(),
        }
    }

    /// Appends the mask of `value` to `out`; the result has as many characters as `value`.
    pub fn mask_into(&mut self, value: &str, out: &mut String) {
        self.engine
            .find_supported(value.as_bytes(), &self.supported, &mut self.found);
        let trimmed = value.trim();
        let lead = value.len() - value.trim_start().len();
        if let [m] = self.found.as_slice() {
            if m.start <= lead && m.end >= lead + trimmed.len() {
                let cat = &self.engine.detectors()[m.detector].category;
                out.push_str(&mask(cat, value));
                return;
            }
        }
        if self.found.is_empty() {
            let cat = category_of(value);
            if cat.is_empty() {
                out.extend(
                    value
                        .chars()
                        .map(|c| if c.is_whitespace() { c } else { MASK }),
                );
            } else {
                out.push_str(&mask(cat, value));
            }
            return;
        }
        // Free text: the union of the characters each span's own mask hides.
        self.hidden.clear();
        self.hidden.resize(value.len(), false);
        for m in &self.found {
            let (start, end) = char_bounds(value, m.start, m.end);
            let span = &value[start..end];
            let cat = &self.engine.detectors()[m.detector].category;
            let masked = mask(cat, span);
            for ((i, c), mc) in span.char_indices().zip(masked.chars()) {
                if mc == MASK && c != MASK {
                    self.hidden[start + i] = true;
                }
            }
        }
        for (i, c) in value.char_indices() {
            out.push(if self.hidden[i] { MASK } else { c });
        }
    }
}

/// `[start, end)` widened to character boundaries of `s`.
fn char_bounds(s: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    end = end.min(s.len());
    start = start.min(end);
    while !s.is_char_boundary(start) {
        start -= 1;
    }
    while !s.is_char_boundary(end) {
        end += 1;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: &str) -> String {
        static E: std::sync::OnceLock<std::sync::Mutex<Masker>> = std::sync::OnceLock::new();
        let masker = E.get_or_init(|| {
            std::sync::Mutex::new(Masker::new(Engine::load(None).expect("built-in detectors")))
        });
        let mut s = String::new();
        masker.lock().unwrap().mask_into(v, &mut s);
        s
    }

    #[test]
    fn whole_values_keep_shape_and_mark_masked() {
        assert_eq!(m("13812345678"), "138****5678");
        assert_eq!(m(" 13812345678 "), " 138****5678 ");
        assert_eq!(m("zhangsan@example.com"), "zh******@example.com");
        assert_eq!(m("11010119900307123X"), "1101**********123X");
        assert_eq!(m("京A12345"), "京A***45");
        for v in ["13812345678", "a@b.c", "x", "LFV2A21KXD4001234", "张三"] {
            let r = m(v);
            assert!(is_masked(&r), "{v} -> {r}");
            assert_eq!(r.chars().count(), v.chars().count(), "{v}");
        }
    }

    #[test]
    fn free_text_masks_every_detected_span_by_its_rule() {
        assert_eq!(
            m("13812345678 called; mail li.lei@example.com before Friday"),
            "138****5678 called; mail li****@example.com before Friday"
        );
        // An at sign does not make free text one email: the phone after it is masked too.
        assert_eq!(
            m("mail a.b@example.com or call 13912345678 today"),
            "mail a**@example.com or call 139****5678 today"
        );
        assert_eq!(
            m("车牌 京A12345, 手机 13812345678"),
            "车牌 京A***45, 手机 138****5678"
        );
    }

    #[test]
    fn a_long_note_keeps_no_phone_number() {
        let filler = "lorem ipsum dolor sit amet ".repeat(3000);
        let note = format!("13812345678 {filler} 13912345678 end {filler} 15012345678");
        let r = m(&note);
        assert_eq!(r.chars().count(), note.chars().count());
        for raw in ["13812345678", "13912345678", "15012345678"] {
            assert!(!r.contains(raw), "{raw} kept");
        }
        assert!(r.starts_with("138****5678 lorem ipsum"));
        assert!(r.ends_with(" 150****5678"));
    }

    #[test]
    fn free_text_without_a_detected_value_is_masked_entirely() {
        assert_eq!(m("Zhang San, Room 301"), "***** **** **** ***");
        assert_eq!(m("张三"), "**");
        assert_eq!(m(""), "");
    }
}
