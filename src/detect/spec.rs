//! Detector files: one TOML file per detector, parsed strictly (unknown keys are errors) and
//! checked (ids, patterns, validator names, thresholds) with errors naming the file and line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::validators;
use super::Sensitivity;
use crate::error::{Error, Result};

/// The built-in detector files, embedded so the binary works from any directory.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "phone_cn_mobile.toml",
        include_str!("../../detectors/phone_cn_mobile.toml"),
    ),
    (
        "phone_cn_landline.toml",
        include_str!("../../detectors/phone_cn_landline.toml"),
    ),
    (
        "phone_nanp.toml",
        include_str!("../../detectors/phone_nanp.toml"),
    ),
    (
        "phone_intl.toml",
        include_str!("../../detectors/phone_intl.toml"),
    ),
    ("email.toml", include_str!("../../detectors/email.toml")),
    (
        "cn_resident_id.toml",
        include_str!("../../detectors/cn_resident_id.toml"),
    ),
    (
        "cn_resident_id_legacy15.toml",
        include_str!("../../detectors/cn_resident_id_legacy15.toml"),
    ),
    ("vin.toml", include_str!("../../detectors/vin.toml")),
    (
        "cn_license_plate.toml",
        include_str!("../../detectors/cn_license_plate.toml"),
    ),
    (
        "person_name_cn.toml",
        include_str!("../../detectors/person_name_cn.toml"),
    ),
    (
        "person_name_latin.toml",
        include_str!("../../detectors/person_name_latin.toml"),
    ),
    (
        "address_cn.toml",
        include_str!("../../detectors/address_cn.toml"),
    ),
    (
        "address_en.toml",
        include_str!("../../detectors/address_en.toml"),
    ),
    (
        "ip_address.toml",
        include_str!("../../detectors/ip_address.toml"),
    ),
    (
        "ip_address_v6.toml",
        include_str!("../../detectors/ip_address_v6.toml"),
    ),
    (
        "mac_address.toml",
        include_str!("../../detectors/mac_address.toml"),
    ),
    ("imei.toml", include_str!("../../detectors/imei.toml")),
    (
        "bank_card.toml",
        include_str!("../../detectors/bank_card.toml"),
    ),
    (
        "cn_passport.toml",
        include_str!("../../detectors/cn_passport.toml"),
    ),
    (
        "birth_date.toml",
        include_str!("../../detectors/birth_date.toml"),
    ),
    (
        "geo_location.toml",
        include_str!("../../detectors/geo_location.toml"),
    ),
];

/// Column-decision thresholds of one detector.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Share of sampled non-null values that must be the identifier (whole-value columns).
    pub min_share: f64,
    /// Number of sampled values that must embed the identifier (free-text columns).
    pub min_matched: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_share: 0.3,
            min_matched: 2,
        }
    }
}

/// One detector file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    /// Unique id (`[a-z][a-z0-9_]*`).
    pub id: String,
    /// Category id (`[a-z][a-z0-9_]*`).
    pub category: String,
    /// Sensitivity of the category.
    pub sensitivity: Sensitivity,
    /// What the detector finds.
    pub description: String,
    /// Bumped when the rules change.
    pub version: u32,
    /// Regular expressions (Rust `regex` syntax, matched on bytes) finding candidates.
    pub patterns: Vec<String>,
    /// A built-in validator checking each candidate.
    #[serde(default)]
    pub validator: Option<String>,
    /// Matches are weak evidence: they count only with a column-name hint or a context word.
    #[serde(default)]
    pub weak: bool,
    /// Among overlapping matches of one category, the higher priority wins.
    #[serde(default)]
    pub priority: i32,
    /// Match patterns case-insensitively.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Column names (tokens) suggesting the category: supporting evidence.
    #[serde(default)]
    pub name_hints: Vec<String>,
    /// Column names holding no personal data despite a hint (`email_opt_in`).
    #[serde(default)]
    pub negative_name_hints: Vec<String>,
    /// Words in the same value that support weak matches.
    #[serde(default)]
    pub context_words: Vec<String>,
    /// Column-decision thresholds.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Dictionaries the validator matches against (`cn_surnames`, `cn_divisions`,
    /// `given_names_latin`, `surnames_latin`): data files in `detectors/data/`, extended by
    /// `<detectors_dir>/data/<name>.txt`.
    #[serde(default)]
    pub dictionaries: Vec<String>,
}

fn detector_error(file: &Path, message: impl Into<String>) -> Error {
    Error::Detector {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

fn valid_ident(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

impl DetectorSpec {
    /// Parses and checks one detector file's text.
    pub fn parse(file: &Path, text: &str) -> Result<DetectorSpec> {
        let spec: DetectorSpec = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().trim().replace('\n', "; ");
            match line {
                Some(l) => detector_error(file, format!("line {l}: {msg}")),
                None => detector_error(file, msg),
            }
        })?;
        spec.check(file)?;
        Ok(spec)
    }

    fn check(&self, file: &Path) -> Result<()> {
        let err = |m: String| Err(detector_error(file, m));
        if !valid_ident(&self.id) {
            return err(format!(
                "id {:?}: use lower-case letters, digits and underscores, starting with a letter",
                self.id
            ));
        }
        if !valid_ident(&self.category) {
            return err(format!(
                "category {:?}: use lower-case letters, digits and underscores, starting with a letter",
                self.category
            ));
        }
        if self.description.trim().is_empty() {
            return err("description: must not be empty".into());
        }
        if self.version == 0 {
            return err("version: must be 1 or more".into());
        }
        if self.patterns.is_empty() {
            return err("patterns: give at least one regular expression".into());
        }
        for (i, p) in self.patterns.iter().enumerate() {
            if let Err(e) = regex::bytes::RegexBuilder::new(p)
                .case_insensitive(self.case_insensitive)
                .build()
            {
                return err(format!(
                    "patterns[{i}] is not a valid regular expression: {e}"
                ));
            }
        }
        if let Some(v) = &self.validator {
            if validators::lookup(v).is_none() {
                let known: Vec<_> = validators::names().collect();
                return err(format!(
                    "validator {v:?} is unknown; known validators: {}",
                    known.join(", ")
                ));
            }
        }
        for d in &self.dictionaries {
            if !super::dicts::known(d) {
                let known: Vec<_> = super::dicts::BUILTIN.iter().map(|(n, _)| *n).collect();
                return err(format!(
                    "dictionaries: {d:?} is unknown; known dictionaries: {}",
                    known.join(", ")
                ));
            }
        }
        let t = &self.thresholds;
        if !(t.min_share > 0.0 && t.min_share <= 1.0) {
            return err("thresholds.min_share: must be greater than 0 and at most 1".into());
        }
        if t.min_matched == 0 {
            return err("thresholds.min_matched: must be 1 or more".into());
        }
        for (key, list) in [
            ("name_hints", &self.name_hints),
            ("negative_name_hints", &self.negative_name_hints),
            ("context_words", &self.context_words),
        ] {
            if list.iter().any(|h| h.trim().is_empty()) {
                return err(format!("{key}: entries must not be empty"));
            }
        }
        Ok(())
    }
}

/// The built-in specs followed by the files of `extra_dir` (sorted by file name); a file whose id
/// is a built-in one replaces it. Two user files with one id are an error.
pub fn load_all(extra_dir: Option<&Path>) -> Result<Vec<(PathBuf, DetectorSpec)>> {
    let mut specs = Vec::new();
    for (name, text) in BUILTIN {
        let path = PathBuf::from(format!("<built-in>/{name}"));
        let spec = DetectorSpec::parse(&path, text)?;
        specs.push((path, spec));
    }
    let Some(dir) = extra_dir else {
        return Ok(specs);
    };
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let builtin_count = specs.len();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let spec = DetectorSpec::parse(&path, &text)?;
        match specs.iter().position(|(_, s)| s.id == spec.id) {
            Some(i) if i < builtin_count && specs[i].0.starts_with("<built-in>") => {
                specs[i] = (path, spec);
            }
            Some(i) => {
                return Err(detector_error(
                    &path,
                    format!(
                        "id {:?} is already defined by {}; give each detector a unique id",
                        spec.id,
                        specs[i].0.display()
                    ),
                ));
            }
            None => specs.push((path, spec)),
        }
    }
    Ok(specs)
}
