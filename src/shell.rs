//! Commands that datawarden prints (hints in errors, the demo's next steps) are written so that they
//! run as printed in a POSIX shell: arguments that need it are quoted.

/// `s` as one shell word: unchanged when it holds only characters a shell takes literally, else
/// in single quotes (a single quote inside becomes `'\''`).
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.' | '/' | ':' | ',' | '@' | '+' | '=' | '%')
        });
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A path as one shell word (see [`quote`]).
pub fn quote_path(p: &std::path::Path) -> String {
    quote(&p.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("/tmp/demo/x.toml"), "/tmp/demo/x.toml");
        assert_eq!(quote("/tmp/my demo/x.toml"), "'/tmp/my demo/x.toml'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote(""), "''");
    }
}
