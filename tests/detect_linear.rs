//! Detection cost is linear in the value's length: `a@b.c` repeated (hundreds of thousands of
//! overlapping e-mail candidates) once took quadratic time in the overlap resolution, and a
//! column classifier searches a huge value only in its first `max_value_bytes`.

use std::time::{Duration, Instant};

use datawarden::classify::{ColumnClassifier, DEFAULT_MAX_VALUE_BYTES};
use datawarden::detect::Engine;

fn hostile(len: usize) -> Vec<u8> {
    b"a@b.c".iter().copied().cycle().take(len).collect()
}

/// The least of `runs` timings of `Engine::find` on `value` (the least is the one that other
/// work on the shared machine disturbed least).
fn time_find(engine: &Engine, value: &[u8], runs: usize) -> Duration {
    let mut out = Vec::new();
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            engine.find(value, &mut out);
            let d = t.elapsed();
            assert!(!out.is_empty());
            d
        })
        .min()
        .unwrap()
}

#[test]
fn email_like_text_is_searched_in_linear_time() {
    let engine = Engine::load(None).unwrap();
    let small = time_find(&engine, &hostile(100 << 10), 3);
    let medium = time_find(&engine, &hostile(800 << 10), 2);
    let big = time_find(&engine, &hostile(8 << 20), 1);
    eprintln!("Engine::find: 100 KB {small:?}, 800 KB {medium:?}, 8 MB {big:?}");
    // 8x and 80x the bytes; quadratic would be 64x and 6400x. A generous factor of 4 for noise
    // (and the sort's log factor).
    let small = small.max(Duration::from_millis(5));
    assert!(
        medium <= small * 8 * 4,
        "800 KB took {medium:?}, 100 KB {small:?}"
    );
    assert!(big <= small * 80 * 4, "8 MB took {big:?}, 100 KB {small:?}");
}

#[test]
fn an_8_mb_value_is_classified_within_seconds_and_the_cut_is_recorded() {
    let engine = Engine::load(None).unwrap();
    let value = hostile(8 << 20);
    let mut c = ColumnClassifier::new(&engine, "remarks", "text");
    let t = Instant::now();
    c.observe(Some(&value));
    let r = c.finish();
    let took = t.elapsed();
    eprintln!("ColumnClassifier::observe, 8 MB: {took:?}");
    assert!(took < Duration::from_secs(5), "8 MB took {took:?}");
    assert_eq!(r.non_null, 1);
    let note = r.note.expect("the cut is recorded");
    assert!(
        note.contains(&format!(
            "searched in their first {DEFAULT_MAX_VALUE_BYTES} bytes"
        )),
        "{note}"
    );
}

#[test]
fn overlapping_candidates_keep_disjoint_matches() {
    let engine = Engine::load(None).unwrap();
    let mut out = Vec::new();
    let value = hostile(100 << 10);
    engine.find(&value, &mut out);
    assert!(out.len() > 1000);
    for w in out.windows(2) {
        assert!(w[0].end <= w[1].start, "{:?}", w);
    }
}
