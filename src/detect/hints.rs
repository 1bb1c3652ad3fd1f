//! Column-name hints: does a column name suggest a category (`mobile`, `手机`, `sjhm`), or say it
//! holds no personal data (`email_opt_in`)?
//!
//! Names are split into lower-case tokens at `_`, `-`, `.`, spaces and camelCase boundaries; an
//! ASCII hint matches when its tokens appear consecutively in the name (`id_card` in
//! `user_id_card_no`), or, for hints of five or more letters, inside a single token (`phone` in
//! `cellphone`). Hints with non-ASCII characters (Chinese) match anywhere in the name.

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

/// True when `hint` matches the column whose tokens are `name_tokens` (and lower-cased name
/// `lower`).
pub fn hint_matches(name_tokens: &[String], lower: &str, hint: &str) -> bool {
    let hint_lower = hint.to_lowercase();
    if !hint_lower.is_ascii() {
        return lower.contains(&hint_lower);
    }
    let ht = tokens(&hint_lower);
    if ht.is_empty() {
        return false;
    }
    if name_tokens.windows(ht.len()).any(|w| w == ht.as_slice()) {
        return true;
    }
    ht.len() == 1 && ht[0].len() >= 5 && name_tokens.iter().any(|t| t.contains(ht[0].as_str()))
}

/// The first hint in `hints` that matches column `name`.
pub fn find_hint<'h>(name: &str, hints: &'h [String]) -> Option<&'h str> {
    let toks = tokens(name);
    let lower = name.to_lowercase();
    hints
        .iter()
        .find(|h| hint_matches(&toks, &lower, h))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
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
        assert_eq!(find_hint("cellphone", &phone), Some("phone"));
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
    }
}
