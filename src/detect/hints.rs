//! Column-name hints: does a column name suggest a category (`mobile`, `手机`, `sjhm`), or say it
//! holds no personal data (`email_opt_in`)?
//!
//! Names are split into lower-case tokens at `_`, `-`, `.`, spaces and camelCase boundaries; an
//! ASCII hint matches when its tokens appear consecutively in the name (`id_card` in
//! `user_id_card_no`), as whole tokens only: `plate` is no hint in `feight_template_id`, and
//! compounds such as `cellphone` are hints of their own. Hints with non-ASCII characters (Chinese)
//! match anywhere in the name.

/// Splits `name` into lower-case tokens.
pub fn tokens(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || !c.is_ascii() {
            if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            cur.extend(c.to_lowercase());
        } else {
            prev_lower = false;
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A column name, lower-cased and split into tokens once for all hints.
#[derive(Debug, Clone)]
pub struct ColumnName {
    tokens: Vec<String>,
    lower: String,
}

impl ColumnName {
    pub fn new(name: &str) -> ColumnName {
        ColumnName {
            tokens: tokens(name),
            lower: name.to_lowercase(),
        }
    }
}

/// One hint, prepared: lower-cased, and split into tokens when it is ASCII.
#[derive(Debug, Clone)]
struct Hint {
    text: String,
    lower: String,
    /// Empty for non-ASCII hints, which match anywhere in the name.
    tokens: Vec<String>,
}

impl Hint {
    fn matches(&self, name: &ColumnName) -> bool {
        if !self.lower.is_ascii() {
            return name.lower.contains(&self.lower);
        }
        let ht = &self.tokens;
        if ht.is_empty() {
            return false;
        }
        name.tokens.windows(ht.len()).any(|w| w == ht.as_slice())
    }
}

/// A detector's list of hints, prepared once when the detector loads.
#[derive(Debug, Clone, Default)]
pub struct Hints(Vec<Hint>);

impl Hints {
    pub fn new(hints: &[String]) -> Hints {
        Hints(
            hints
                .iter()
                .map(|h| {
                    let lower = h.to_lowercase();
                    Hint {
                        text: h.clone(),
                        tokens: if lower.is_ascii() {
                            tokens(&lower)
                        } else {
                            Vec::new()
                        },
                        lower,
                    }
                })
                .collect(),
        )
    }

    /// The first hint that matches column `name`.
    pub fn find(&self, name: &ColumnName) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.matches(name))
            .map(|h| h.text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(list: &[&str]) -> Hints {
        Hints::new(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn find_hint<'h>(name: &str, hints: &'h Hints) -> Option<&'h str> {
        hints.find(&ColumnName::new(name))
    }

    #[test]
    fn tokenising() {
        assert_eq!(tokens("userMobileNo"), ["user", "mobile", "no"]);
        assert_eq!(tokens("ID_CARD-no.x"), ["id", "card", "no", "x"]);
        assert_eq!(tokens("用户 手机"), ["用户", "手机"]);
    }

    #[test]
    fn matching() {
        let phone = h(&["mobile", "phone", "tel", "手机", "sjhm"]);
        assert_eq!(find_hint("contact_mobile", &phone), Some("mobile"));
        assert_eq!(find_hint("cellphone", &phone), None);
        assert_eq!(find_hint("cell_phone", &phone), Some("phone"));
        assert_eq!(find_hint("cellPhone", &phone), Some("phone"));
        assert_eq!(find_hint("用户手机号", &phone), Some("手机"));
        assert_eq!(find_hint("SJHM", &phone), Some("sjhm"));
        assert_eq!(find_hint("tel", &phone), Some("tel"));
        assert_eq!(find_hint("hotel_name", &phone), None);
        assert_eq!(find_hint("telemetry", &phone), None);
        let id = h(&["id_card", "身份证", "sfz"]);
        assert_eq!(find_hint("user_id_card_no", &id), Some("id_card"));
        assert_eq!(find_hint("user_id", &id), None);
        let neg = h(&["opt_in", "phone_model"]);
        assert_eq!(find_hint("email_opt_in", &neg), Some("opt_in"));
        assert_eq!(find_hint("phoneModel", &neg), Some("phone_model"));
        let plate = h(&["plate", "cph"]);
        assert_eq!(find_hint("feight_template_id", &plate), None);
        assert_eq!(find_hint("templateId", &plate), None);
        assert_eq!(find_hint("plate-no", &plate), Some("plate"));
        assert_eq!(find_hint("licensePlate", &plate), Some("plate"));
    }
}
