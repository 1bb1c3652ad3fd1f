//! Detector throughput: short values through `Engine::find` and `ColumnClassifier::observe`
//! (values/s), free-text lines through `Engine::find` (bytes/s).
//!
//! cargo bench --bench detect -- --warm-up-time 1 --measurement-time 3
//!
//! With `DW_BENCH_PASSES=N` the bench skips criterion and runs each workload N times, for an
//! instruction count that does not depend on the machine's load (`DW_BENCH_ONLY=short`,
//! `classifier` or `text` picks one):
//! `DW_BENCH_PASSES=20 valgrind --tool=callgrind target/release/deps/detect-*`; with
//! `DW_BENCH_VALUE=v` each pass searches that one value 1,000 times instead (with
//! `DW_BENCH_COLUMN=name:type`, through a classifier of such a column, type trusted). With
//! `DW_BENCH_CATEGORIES=a,b,...` the short values and the free text are searched by those
//! categories' detectors only, or those detectors (ids such as `person_name_cn` work too;
//! `Engine::find_among`): the five categories before the nine new ones are
//! `phone,cn_resident_id,vin,cn_license_plate,email`. Criterion measures both the
//! fourteen categories and those five (`*_five_categories*`) in one run.

use criterion::{criterion_group, Criterion, Throughput};
use datawarden::classify::ColumnClassifier;
use datawarden::detect::{Engine, Match};

/// A realistic mix: mostly values that hold no identifier, plus about 15% identifiers.
fn short_values() -> Vec<Vec<u8>> {
    let negatives = [
        "张伟",
        "Wang Fang",
        "Acme Corporation Ltd.",
        "19.99",
        "¥1,234.56",
        "2024-03-15",
        "2024-03-15 12:30:45",
        "1710498123",
        "202403151230450001",
        "550e8400-e29b-41d4-a716-446655440000",
        "d41d8cd98f00b204e9800998ecf8427e",
        "shipped",
        "北京市朝阳区建国路88号",
        "true",
        "42",
        "ORD-2024-000123",
        "Shanghai",
        "pending_review",
        "https://example.com/item/123",
        "0.75",
        "1001",
        "large",
        "192.168.1.20",
        "v1.2.3",
        "红色",
        "null",
        "2023",
        "sku-88213-b",
        "Lorem ipsum dolor",
        "100",
        "Beijing Road 12",
        "3",
        "12:30",
        "CNY",
    ];
    let positives = [
        "13812345678",
        "zhang.wei@example.com",
        "110105199003071239",
        "LSVAB2188E2100001",
        "京A12345",
        "010-62345678",
    ];
    let mut out = Vec::new();
    for i in 0..4000 {
        let v = if i % 7 == 0 {
            positives[(i / 7) % positives.len()]
        } else {
            negatives[i % negatives.len()]
        };
        out.push(v.as_bytes().to_vec());
    }
    out
}

fn free_text() -> Vec<u8> {
    // The same lines as the engine's windowed-search test, one per line.
    let lines = include_str!("../config/sample-free-text.txt").lines();
    let mut text = Vec::new();
    while text.len() < 1 << 20 {
        for l in lines.clone() {
            text.extend_from_slice(l.as_bytes());
            text.push(b' ');
        }
    }
    text
}

/// The five categories datawarden had before the nine of issue #15: `find_among` them is the
/// figure #15's speed limit compares with.
const FIVE: &[&str] = &[
    "phone",
    "cn_resident_id",
    "vin",
    "cn_license_plate",
    "email",
];

/// A search of one value: `Engine::find`, or `find_among` a set of detectors.
type Find<'a> = &'a dyn Fn(&[u8], &mut Vec<Match>);

/// Searches each of `items` with `find` and counts the matches (so nothing is optimised away).
fn count<'v>(items: impl IntoIterator<Item = &'v [u8]>, out: &mut Vec<Match>, find: Find) -> usize {
    items
        .into_iter()
        .map(|v| {
            find(v, out);
            out.len()
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let engine = Engine::load(None).unwrap();
    let five = engine.detector_set(|i| FIVE.contains(&engine.detectors()[i].category.as_str()));
    let all: Find = &|v, out| engine.find(v, out);
    let older: Find = &|v, out| engine.find_among(v, &five, &[], out);
    let values = short_values();
    let mut out = Vec::with_capacity(16);

    let mut g = c.benchmark_group("short_values");
    g.throughput(Throughput::Elements(values.len() as u64));
    for (name, find) in [("engine_find", all), ("engine_find_five_categories", older)] {
        g.bench_function(name, |b| {
            b.iter(|| count(values.iter().map(Vec::as_slice), &mut out, find))
        });
    }
    g.bench_function("classifier_observe", |b| {
        b.iter(|| {
            let mut cls = ColumnClassifier::new(&engine, "value", "text");
            for v in &values {
                cls.observe(Some(v));
            }
            cls.finish().findings.len()
        })
    });
    g.finish();

    let text = free_text();
    let mut g = c.benchmark_group("free_text");
    g.throughput(Throughput::Bytes(text.len() as u64));
    for (name, find) in [
        ("engine_find_200b_lines", all),
        ("engine_find_five_categories_200b_lines", older),
    ] {
        g.bench_function(name, |b| b.iter(|| count(text.chunks(200), &mut out, find)));
    }
    g.finish();
}

/// Each workload `passes` times, printing what it found (so nothing is optimised away).
fn fixed_passes(passes: usize) {
    let engine = Engine::load(None).unwrap();
    let values = short_values();
    let text = free_text();
    let mut out = Vec::with_capacity(16);
    if let Ok(v) = std::env::var("DW_BENCH_VALUE") {
        let mut found = 0;
        if let Ok(column) = std::env::var("DW_BENCH_COLUMN") {
            // `name:type`: the value through a classifier of that column, as a scan sees it.
            let (name, sql_type) = column.split_once(':').unwrap_or((&column, "text"));
            let mut cls = ColumnClassifier::new(&engine, name, sql_type);
            cls.trust_column_type();
            for _ in 0..passes * 1000 {
                cls.observe(Some(v.as_bytes()));
            }
            found = cls.finish().findings.len();
            println!("{passes} passes of {v:?} in {column}: {found} findings");
            return;
        }
        for _ in 0..passes * 1000 {
            engine.find(v.as_bytes(), &mut out);
            found += out.len();
        }
        println!("{passes} passes of {v:?}: {found} matches");
        return;
    }
    let only = std::env::var("DW_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    let among = std::env::var("DW_BENCH_CATEGORIES").ok().map(|list| {
        let cats: Vec<&str> = list.split(',').map(str::trim).collect();
        engine.detector_set(|i| {
            cats.contains(&engine.detectors()[i].category.as_str())
                || cats.contains(&engine.detectors()[i].id.as_str())
        })
    });
    let find: Find = &|v, out| match &among {
        Some(set) => engine.find_among(v, set, &[], out),
        None => engine.find(v, out),
    };
    let (mut found, mut columns) = (0, 0);
    for _ in 0..passes {
        if run("short") {
            found += count(values.iter().map(Vec::as_slice), &mut out, find);
        }
        if run("classifier") {
            let mut cls = ColumnClassifier::new(&engine, "value", "text");
            for v in &values {
                cls.observe(Some(v));
            }
            columns += cls.finish().findings.len();
        }
        if run("text") {
            found += count(text.chunks(200), &mut out, find);
        }
    }
    println!("{passes} passes: {found} matches, {columns} column findings");
}

criterion_group!(benches, bench);

fn main() {
    match std::env::var("DW_BENCH_PASSES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(passes) => fixed_passes(passes),
        None => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
