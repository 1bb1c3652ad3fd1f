//! End-to-end scan throughput: the demo car-platform database (4 tables, 39 columns, 4,500 rows)
//! scanned into a fresh inventory (read, classify, record), in rows/s.
//!
//! cargo bench --bench scan -- --warm-up-time 1 --measurement-time 3

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datawarden::config::Config;
use datawarden::detect::Engine;
use datawarden::inventory::Store;
use datawarden::scan::{scan_source, NoProgress};
use datawarden::stop::Stop;

fn bench_scan(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cars.db");
    rt.block_on(datawarden::demo::create_database(&db)).unwrap();
    let engine = Engine::load(None).unwrap();
    let rows = u64::from(
        datawarden::demo::MEMBERS
            + datawarden::demo::VEHICLES
            + datawarden::demo::ORDERS
            + datawarden::demo::INQUIRIES,
    );
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Elements(rows));
    group.sample_size(10);
    let mut n = 0u32;
    group.bench_function("demo_database_rows", |b| {
        b.iter(|| {
            n += 1;
            let text = format!(
                "[inventory]\nurl = \"sqlite://{0}/inv{n}.db\"\n[[sources]]\nname = \"cars\"\nurl = \"sqlite://{1}\"\n",
                dir.path().display(),
                db.display()
            );
            let config = Config::parse(&text, &dir.path().join("c.toml")).unwrap();
            rt.block_on(async {
                let store = Store::open(&config.inventory.url).await.unwrap();
                let s = scan_source(&config, &engine, &store, &config.sources[0], &NoProgress, &Stop::new()).await.unwrap();
                assert_eq!(s.rows, rows);
                store.close().await;
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench_scan);
criterion_main!(benches);
