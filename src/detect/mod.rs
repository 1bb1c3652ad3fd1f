//! Detectors: rules (patterns) + keywords (column-name hints, context words) + validators
//! (checksums and structure), loaded from TOML files and compiled once into an [`Engine`].
//!
//! Built-in detector files live in `detectors/` and are embedded in the binary; files in a
//! user's `detectors_dir` are added, and a file with a built-in id replaces it.

/// A table of 256 booleans, one per byte value `$b`, built at compile time from `$test`
/// (a load per byte instead of a chain of range tests).
macro_rules! byte_set {
    ($b:ident => $test:expr) => {{
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let $b = i as u8;
            table[i] = $test;
            i += 1;
        }
        table
    }};
}

/// ASCII hex digits, one entry per byte value (a load instead of three range tests), shared by
/// the scanners and the engine's run lengths.
pub(crate) static HEX_DIGIT: [bool; 256] = byte_set!(b => b.is_ascii_hexdigit());

pub mod dicts;
mod engine;
pub mod fold;
mod gates;
pub mod hints;
pub mod mask;
mod pairs;
mod scanners;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) mod simd;
pub mod spec;
pub mod validators;
mod words;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use mask::mask;
pub use spec::{DetectorSpec, Thresholds};

/// How sensitive a category is. `high` is PIPL "sensitive personal information" (ID numbers...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    Low,
    Moderate,
    High,
}

impl Sensitivity {
    /// The lower-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Sensitivity::Low => "low",
            Sensitivity::Moderate => "moderate",
            Sensitivity::High => "high",
        }
    }
}

/// One compiled detector's identity and metadata.
#[derive(Debug, Clone)]
pub struct Detector {
    /// Unique id, e.g. `phone_cn_mobile`.
    pub id: String,
    /// Category id, e.g. `phone`.
    pub category: String,
    /// Version, bumped when the rules change (recorded in the inventory).
    pub version: u32,
    /// Sensitivity of the category.
    pub sensitivity: Sensitivity,
    /// The detector file as written (hints, thresholds, description, validator).
    pub spec: DetectorSpec,
    /// `spec.name_hints`, prepared for matching column names.
    pub name_hints: hints::Hints,
    /// `spec.negative_name_hints`, prepared for matching column names.
    pub negative_name_hints: hints::Hints,
    /// Where the detector came from (`<built-in>/vin.toml` or a user file).
    pub file: std::path::PathBuf,
}

/// One match in a value: byte offsets `[start, end)`, and the index of the detector in
/// [`Engine::detectors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Index into [`Engine::detectors`].
    pub detector: usize,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset just past the last byte.
    pub end: usize,
    /// Weak evidence (legacy 15-digit ids, VINs failing an optional check digit, bare 10-digit
    /// NANP numbers): reported only with a context word in the value or column-name support.
    pub weak: bool,
}

/// All detectors compiled once. Cloning is cheap (the compiled detectors are shared), so that
/// each thread classifying columns can hold its own handle.
#[derive(Debug, Clone)]
pub struct Engine(Arc<Shared>);

/// What an [`Engine`] shares between its clones.
#[derive(Debug)]
struct Shared {
    detectors: Vec<Detector>,
    compiled: engine::Detectors,
    categories: Vec<String>,
    ctx: validators::Ctx,
}

impl Engine {
    /// The built-in detectors plus the files in `extra_dir` (a file with a built-in id replaces it).
    pub fn load(extra_dir: Option<&Path>) -> Result<Engine> {
        let specs = spec::load_all(extra_dir)?;
        let dicts = dicts::load(extra_dir)?;
        let mut categories: Vec<String> = Vec::new();
        let mut detectors = Vec::with_capacity(specs.len());
        let mut compiled = Vec::with_capacity(specs.len());
        for (file, spec) in specs {
            let cat = match categories.iter().position(|c| *c == spec.category) {
                Some(i) => i,
                None => {
                    categories.push(spec.category.clone());
                    categories.len() - 1
                }
            };
            compiled.push(engine::Compiled::new(&spec, cat, &file)?);
            detectors.push(Detector {
                id: spec.id.clone(),
                category: spec.category.clone(),
                version: spec.version,
                sensitivity: spec.sensitivity,
                name_hints: hints::Hints::new(&spec.name_hints),
                negative_name_hints: hints::Hints::new(&spec.negative_name_hints),
                spec,
                file,
            });
        }
        tracing::debug!(detectors = detectors.len(), "detectors compiled");
        Ok(Engine(Arc::new(Shared {
            detectors,
            compiled: engine::Detectors::new(compiled),
            categories,
            ctx: validators::Ctx {
                dicts,
                ..validators::Ctx::now()
            },
        })))
    }

    /// The compiled detectors; [`Match::detector`] indexes this slice.
    pub fn detectors(&self) -> &[Detector] {
        &self.0.detectors
    }

    /// The distinct category ids, in detector order.
    pub fn categories(&self) -> &[String] {
        &self.0.categories
    }

    /// The index in [`Engine::categories`] of detector `detector`'s category.
    pub fn category_index(&self, detector: usize) -> usize {
        self.0.compiled.list()[detector].category()
    }

    /// Appends every match in `value` to `out` (cleared first), ordered by start offset.
    /// Weak matches are kept only when one of the detector's context words occurs in the value
    /// (a weak detector without context words, such as `birth_date`, is not searched). Never
    /// panics, whatever the bytes; does not allocate when `out` has capacity.
    pub fn find(&self, value: &[u8], out: &mut Vec<Match>) {
        let alone = self.0.compiled.alone();
        engine::find(&self.0.compiled, &self.0.ctx, value, alone, &|_| false, out);
    }

    /// Like [`Engine::find`], but weak matches of detector `i` are also kept when `supported[i]`
    /// is true (column-name evidence). `supported` may be shorter than the detector list.
    pub fn find_supported(&self, value: &[u8], supported: &[bool], out: &mut Vec<Match>) {
        self.find_in_set(value, self.0.compiled.every(), supported, out);
    }

    /// Like [`Engine::find_supported`], with only the detectors in `only`.
    pub fn find_among(
        &self,
        value: &[u8],
        only: &DetectorSet,
        supported: &[bool],
        out: &mut Vec<Match>,
    ) {
        self.find_in_set(value, &only.0, supported, out);
    }

    fn find_in_set(&self, value: &[u8], only: &[u64], supported: &[bool], out: &mut Vec<Match>) {
        let supported = |i: usize| supported.get(i).copied().unwrap_or(false);
        engine::find(&self.0.compiled, &self.0.ctx, value, only, &supported, out);
    }

    /// False when [`Engine::find_among`] with `only` finds nothing in any value made of `len`
    /// ASCII digits (an id, a count): the prefilters rule every detector out from the digit
    /// count alone. A classifier asks once per length, not once per value.
    pub fn digits_may_match(&self, len: usize, only: &DetectorSet) -> bool {
        engine::digits_may_match(&self.0.compiled, len, &only.0)
    }

    /// Every detector, as a [`DetectorSet`].
    pub fn every_detector(&self) -> DetectorSet {
        DetectorSet(self.0.compiled.every().to_vec())
    }

    /// The detectors for which `keep(i)` holds.
    pub fn detector_set(&self, keep: impl Fn(usize) -> bool) -> DetectorSet {
        let mut bits = self.0.compiled.every().to_vec();
        for (i, b) in bits.iter_mut().enumerate() {
            for k in 0..64 {
                if *b >> k & 1 == 1 && !keep(i * 64 + k) {
                    *b &= !(1 << k);
                }
            }
        }
        DetectorSet(bits)
    }
}

/// A set of an engine's detectors (by index), to run only some of them on a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectorSet(Vec<u64>);

impl DetectorSet {
    /// True when the set holds no detector.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
}

#[cfg(test)]
mod tests;
