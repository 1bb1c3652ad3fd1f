//! Dictionaries the detectors match against (Chinese surnames, administrative divisions of China,
//! Latin-script given and family names): data files, one entry a line, compiled into
//! aho-corasick automata once per engine.
//!
//! The built-in files live in `detectors/data/` and are embedded in the binary; a file of the same
//! name in `<detectors_dir>/data/` adds its entries (users extend a list without code).

use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, Input, MatchKind, StartKind};

use crate::error::{Error, Result};

/// The dictionaries, by the name detector files use in `dictionaries = [...]`, and their
/// built-in text.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "cn_surnames",
        include_str!("../../detectors/data/cn_surnames.txt"),
    ),
    (
        "cn_divisions",
        include_str!("../../detectors/data/cn_divisions.txt"),
    ),
    (
        "given_names_latin",
        include_str!("../../detectors/data/given_names_latin.txt"),
    ),
    (
        "surnames_latin",
        include_str!("../../detectors/data/surnames_latin.txt"),
    ),
];

/// True when `name` is a known dictionary.
pub fn known(name: &str) -> bool {
    BUILTIN.iter().any(|(n, _)| *n == name)
}

/// One dictionary: its entries in an automaton finding the longest entry (ASCII letters match
/// regardless of case).
#[derive(Debug)]
pub struct Dict {
    ac: AhoCorasick,
    entries: usize,
}

impl Dict {
    fn new(entries: &[String]) -> std::result::Result<Dict, aho_corasick::BuildError> {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Both)
            .ascii_case_insensitive(true)
            .build(entries)?;
        Ok(Dict {
            ac,
            entries: entries.len(),
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when the dictionary has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The end of the longest entry starting exactly at `at` in `hay`.
    #[inline]
    pub fn prefix_at(&self, hay: &[u8], at: usize) -> Option<usize> {
        if at >= hay.len() {
            return None;
        }
        self.ac
            .find(Input::new(hay).range(at..).anchored(Anchored::Yes))
            .map(|m| m.end())
    }

    /// True when `word` is exactly an entry (the longest entry at its start is the word).
    #[inline]
    pub fn contains(&self, word: &[u8]) -> bool {
        self.prefix_at(word, 0) == Some(word.len())
    }

    /// The leftmost (then longest) entry in `hay[from..to]`, as `(start, end)`.
    #[inline]
    pub fn find_in(&self, hay: &[u8], from: usize, to: usize) -> Option<(usize, usize)> {
        if from >= to || to > hay.len() {
            return None;
        }
        self.ac
            .find(Input::new(hay).range(from..to))
            .map(|m| (m.start(), m.end()))
    }
}

/// Every dictionary, compiled.
#[derive(Debug)]
pub struct Dicts {
    /// Chinese surnames, single and compound.
    pub cn_surnames: Dict,
    /// Provinces, prefecture-level cities, districts and counties of China.
    pub cn_divisions: Dict,
    /// Common given names in Latin script.
    pub given_names_latin: Dict,
    /// Common family names in Latin script.
    pub surnames_latin: Dict,
}

/// The entries of one dictionary file's text: trimmed lines, without blanks and `#` comments.
fn entries(text: &str, out: &mut Vec<String>) {
    for line in text.lines() {
        let l = line.trim();
        if !l.is_empty() && !l.starts_with('#') {
            out.push(l.to_string());
        }
    }
}

fn build(extra_dir: Option<&Path>) -> Result<Dicts> {
    let mut compiled = Vec::with_capacity(BUILTIN.len());
    for (name, text) in BUILTIN {
        let mut list = Vec::new();
        entries(text, &mut list);
        let mut file = std::path::PathBuf::from(format!("<built-in>/data/{name}.txt"));
        if let Some(dir) = extra_dir {
            let user = dir.join("data").join(format!("{name}.txt"));
            if user.is_file() {
                let text = std::fs::read_to_string(&user).map_err(|e| Error::io(&user, e))?;
                entries(&text, &mut list);
                file = user;
            }
        }
        let dict = Dict::new(&list).map_err(|e| Error::Detector {
            file: file.clone(),
            message: format!("dictionary {name}: {e}"),
        })?;
        compiled.push(dict);
    }
    let mut it = compiled.into_iter();
    let mut next = || it.next().expect("one dictionary per built-in entry");
    Ok(Dicts {
        cn_surnames: next(),
        cn_divisions: next(),
        given_names_latin: next(),
        surnames_latin: next(),
    })
}

/// The built-in dictionaries, compiled once per process.
pub fn builtin() -> &'static Dicts {
    static D: std::sync::OnceLock<Dicts> = std::sync::OnceLock::new();
    D.get_or_init(|| build(None).expect("built-in dictionaries compile"))
}

/// The dictionaries for an engine: the built-in ones, plus the entries of
/// `<extra_dir>/data/<name>.txt` files when there are any (compiled and kept for the life of the
/// process: engines are loaded a handful of times).
pub fn load(extra_dir: Option<&Path>) -> Result<&'static Dicts> {
    let has_user_data = extra_dir.is_some_and(|d| {
        BUILTIN
            .iter()
            .any(|(n, _)| d.join("data").join(format!("{n}.txt")).is_file())
    });
    if !has_user_data {
        return Ok(builtin());
    }
    Ok(Box::leak(Box::new(build(extra_dir)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lists_are_substantial_and_match() {
        let d = builtin();
        assert!(d.cn_surnames.len() > 400);
        assert!(d.cn_divisions.len() > 1500);
        assert!(d.given_names_latin.len() > 500);
        let hay = "欧阳娜娜".as_bytes();
        assert_eq!(d.cn_surnames.prefix_at(hay, 0), Some(6));
        assert!(d.given_names_latin.contains(b"jennifer"));
        assert!(!d.given_names_latin.contains(b"jenniferx"));
        let addr = "地址：广东省深圳市南山区科技园路1号".as_bytes();
        let (s, e) = d.cn_divisions.find_in(addr, 0, addr.len()).unwrap();
        assert_eq!(&addr[s..e], "广东省".as_bytes());
    }

    #[test]
    fn user_files_extend_the_lists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/cn_surnames.txt"), "# mine\n䶮\n").unwrap();
        let d = load(Some(dir.path())).unwrap();
        assert!(d.cn_surnames.contains("䶮".as_bytes()));
        assert!(d.cn_surnames.contains("王".as_bytes()));
        assert!(!builtin().cn_surnames.contains("䶮".as_bytes()));
    }
}
