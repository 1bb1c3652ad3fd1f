//! A table's column classifiers on worker threads, fed rows in batches, so that detection runs
//! beside the read (the async task only copies rows) and on every core.
//!
//! Rows are copied into a batch; a full batch goes to every worker, each observing its own
//! columns. Which worker observes which column is decided per batch from the time each column
//! has taken so far (longest first, to the least loaded worker), so one expensive free-text
//! column does not leave the other cores idle. A column's batches are observed in order
//! whichever worker takes them (each waits for the column's previous batch), so a column's
//! report is the one a single thread would give.
//!
//! Memory is bounded: a worker holds at most [`QUEUED`] batches besides the one it observes,
//! and [`ColumnPool::push`] waits (blocking the calling thread) while a worker is that far
//! behind. A worker that panics stops the others (none waits for a batch it will never
//! observe), and [`ColumnPool::finish`] raises its panic.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use super::ColumnClassifier;

/// A batch is handed over at this many rows...
const BATCH_ROWS: usize = 2048;
/// ...or this many bytes of values, whichever comes first.
const BATCH_BYTES: usize = 512 << 10;
/// Batches waiting per worker.
const QUEUED: usize = 2;
/// A column reads the clock every this many values or [`CLOCK_BYTES`], not per value.
const CLOCK_VALUES: u32 = 64;
const CLOCK_BYTES: usize = 64 << 10;

/// Copied rows: `cells[row * width + column]` spans `bytes`, `None` for NULL.
struct Batch {
    seq: u64,
    width: usize,
    bytes: Vec<u8>,
    cells: Vec<Option<(usize, usize)>>,
}

impl Batch {
    fn new(seq: u64, width: usize) -> Batch {
        Batch {
            seq,
            width,
            bytes: Vec::new(),
            cells: Vec::new(),
        }
    }

    fn rows(&self) -> usize {
        self.cells.len() / self.width.max(1)
    }

    fn value(&self, row: usize, column: usize) -> Option<&[u8]> {
        self.cells[row * self.width + column].map(|(s, e)| &self.bytes[s..e])
    }
}

/// One column: its classifier, the batches it has observed, and its detection budget.
struct Column {
    classifier: ColumnClassifier,
    /// Batches observed so far (the `seq` of the next one it takes).
    done: u64,
    out_of_time: bool,
    values_unchecked: u32,
    bytes_unchecked: usize,
}

/// A column, the signal that its next batch may be observed, and the time spent observing it
/// (read for the next batch's assignment without waiting for the column's lock, which a worker
/// holds for a whole batch).
struct Slot {
    column: Mutex<Column>,
    turn: Condvar,
    nanos: AtomicU64,
}

/// What the workers share: the columns, and whether a worker panicked.
#[derive(Default)]
struct Shared {
    slots: Vec<Slot>,
    failed: AtomicBool,
}

impl Shared {
    /// Marks the pool failed and wakes every worker waiting for a column's turn.
    fn fail(&self) {
        self.failed.store(true, Ordering::SeqCst);
        for slot in &self.slots {
            // Taken so that no waiter misses the wake-up between its check and its wait.
            drop(lock(slot));
            slot.turn.notify_all();
        }
    }
}

/// Fails the pool when the worker holding it unwinds from a panic.
struct FailOnPanic<'a>(&'a Shared);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail();
        }
    }
}

/// The columns a worker observes in one batch.
struct Job {
    batch: Arc<Batch>,
    columns: Vec<usize>,
}

/// Column classifiers observing rows on worker threads (see the module docs).
pub struct ColumnPool {
    shared: Arc<Shared>,
    senders: Vec<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    batch: Batch,
}

impl ColumnPool {
    /// Starts `threads` workers (at least one, at most one per column; none without columns) for
    /// `classifiers`, one per field of the rows to come. After `deadline`, values are counted
    /// but not searched ([`ColumnClassifier::skip`]).
    pub fn start(classifiers: Vec<ColumnClassifier>, threads: usize, deadline: Instant) -> Self {
        let width = classifiers.len();
        let slots: Vec<Slot> = classifiers
            .into_iter()
            .map(|classifier| Slot {
                column: Mutex::new(Column {
                    classifier,
                    done: 0,
                    out_of_time: false,
                    // The first value reads the clock.
                    values_unchecked: CLOCK_VALUES,
                    bytes_unchecked: 0,
                }),
                turn: Condvar::new(),
                nanos: AtomicU64::new(0),
            })
            .collect();
        let shared = Arc::new(Shared {
            slots,
            failed: AtomicBool::new(false),
        });
        let threads = threads.max(1).min(width);
        let (mut senders, mut workers) = (Vec::new(), Vec::new());
        for _ in 0..threads {
            let (tx, rx) = sync_channel::<Job>(QUEUED);
            let shared = Arc::clone(&shared);
            let worker = std::thread::Builder::new()
                .name("dw-classify".into())
                .spawn(move || {
                    let _fail = FailOnPanic(&shared);
                    for job in rx {
                        for &c in &job.columns {
                            observe(&shared, &job.batch, c, deadline);
                        }
                    }
                });
            // Out of threads (a process or cgroup limit): fewer workers will do; none at all
            // leaves nothing to classify with.
            match worker {
                Ok(worker) => {
                    senders.push(tx);
                    workers.push(worker);
                }
                Err(e) if !workers.is_empty() => {
                    tracing::warn!(error = %e, started = workers.len(), "classifier threads");
                    break;
                }
                Err(e) => panic!("cannot start a classifier thread: {e}"),
            }
        }
        ColumnPool {
            shared,
            senders,
            workers,
            batch: Batch::new(0, width),
        }
    }

    /// Copies one row (a value per classifier) and hands over the batch when it is full.
    pub fn push(&mut self, row: &[Option<&[u8]>]) {
        let b = &mut self.batch;
        for value in row.iter().take(b.width) {
            b.cells.push(value.map(|v| {
                let start = b.bytes.len();
                b.bytes.extend_from_slice(v);
                (start, b.bytes.len())
            }));
        }
        for _ in row.len()..b.width {
            b.cells.push(None);
        }
        if b.rows() >= BATCH_ROWS || b.bytes.len() >= BATCH_BYTES {
            self.hand_over();
        }
    }

    /// Gives the current batch to the workers, each its share of the columns.
    fn hand_over(&mut self) {
        if self.batch.cells.is_empty() {
            return;
        }
        let next = Batch::new(self.batch.seq + 1, self.batch.width);
        let batch = Arc::new(std::mem::replace(&mut self.batch, next));
        let nanos: Vec<u64> = self
            .shared
            .slots
            .iter()
            .map(|s| s.nanos.load(Ordering::Relaxed))
            .collect();
        for (tx, columns) in self.senders.iter().zip(assign(&nanos, self.senders.len())) {
            if columns.is_empty() {
                continue;
            }
            let job = Job {
                batch: Arc::clone(&batch),
                columns,
            };
            // A worker stops receiving only by panicking, which fails the pool; `finish`
            // raises that panic.
            let _ = tx.send(job);
        }
    }

    /// Observes what is left, stops the workers and returns the classifiers in column order.
    pub fn finish(mut self) -> Vec<ColumnClassifier> {
        self.hand_over();
        self.senders.clear();
        for w in std::mem::take(&mut self.workers) {
            if let Err(panic) = w.join() {
                std::panic::resume_unwind(panic);
            }
        }
        let shared = std::mem::take(&mut self.shared);
        let shared = Arc::try_unwrap(shared).unwrap_or_else(|_| unreachable!("workers joined"));
        shared
            .slots
            .into_iter()
            .map(|s| {
                s.column
                    .into_inner()
                    .unwrap_or_else(|p| p.into_inner())
                    .classifier
            })
            .collect()
    }
}

impl Drop for ColumnPool {
    /// A pool dropped without [`ColumnPool::finish`] (the read failed) stops its workers.
    fn drop(&mut self) {
        self.senders.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// The column's lock; a worker that panicked leaves the classifier as it was.
fn lock(slot: &Slot) -> MutexGuard<'_, Column> {
    slot.column.lock().unwrap_or_else(|p| p.into_inner())
}

/// Observes column `c` of `batch`, after the column's previous batches; nothing once the pool
/// failed.
fn observe(shared: &Shared, batch: &Batch, c: usize, deadline: Instant) {
    let slot = &shared.slots[c];
    let mut col = lock(slot);
    while col.done != batch.seq {
        if shared.failed.load(Ordering::SeqCst) {
            return;
        }
        col = slot.turn.wait(col).unwrap_or_else(|p| p.into_inner());
    }
    let started = Instant::now();
    for row in 0..batch.rows() {
        let value = batch.value(row, c);
        if col.values_unchecked >= CLOCK_VALUES || col.bytes_unchecked >= CLOCK_BYTES {
            col.out_of_time = col.out_of_time || Instant::now() >= deadline;
            (col.values_unchecked, col.bytes_unchecked) = (0, 0);
        }
        col.values_unchecked += 1;
        col.bytes_unchecked += value.map_or(0, <[u8]>::len);
        if col.out_of_time {
            col.classifier.skip(value);
        } else {
            col.classifier.observe(value);
        }
    }
    slot.nanos
        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    col.done += 1;
    drop(col);
    slot.turn.notify_all();
}

/// Columns per worker: longest-running first, each to the worker with the least time so far.
fn assign(nanos: &[u64], workers: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..nanos.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(nanos[c]));
    let mut load = vec![0u64; workers];
    let mut out = vec![Vec::new(); workers];
    for c in order {
        let w = (0..workers).min_by_key(|&w| load[w]).unwrap_or(0);
        load[w] += nanos[c].max(1);
        out[w].push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Engine;
    use std::sync::OnceLock;
    use std::time::Duration;

    fn engine() -> &'static Engine {
        static E: OnceLock<Engine> = OnceLock::new();
        E.get_or_init(|| Engine::load(None).unwrap())
    }

    fn rows(n: usize) -> Vec<[Option<String>; 3]> {
        (0..n)
            .map(|i| {
                [
                    Some(format!("139{:08}", i * 7919 % 100_000_000)),
                    (i % 3 != 0).then(|| format!("order note {i:x}")),
                    Some(format!("user{i}@example.com")),
                ]
            })
            .collect()
    }

    fn classifiers() -> Vec<ColumnClassifier> {
        ["phone", "note", "email"]
            .iter()
            .map(|n| ColumnClassifier::new(engine(), n, "text"))
            .collect()
    }

    #[test]
    fn reports_equal_a_single_thread_observing_in_order() {
        let data = rows(3 * BATCH_ROWS + 17);
        let mut alone = classifiers();
        for r in &data {
            for (c, v) in alone.iter_mut().zip(r) {
                c.observe(v.as_deref().map(str::as_bytes));
            }
        }
        let want: Vec<_> = alone.into_iter().map(|c| c.finish()).collect();
        for threads in [1, 2, 3, 8] {
            let deadline = Instant::now() + Duration::from_secs(3600);
            let mut pool = ColumnPool::start(classifiers(), threads, deadline);
            for r in &data {
                let row: Vec<Option<&[u8]>> =
                    r.iter().map(|v| v.as_deref().map(str::as_bytes)).collect();
                pool.push(&row);
            }
            let got: Vec<_> = pool.finish().into_iter().map(|c| c.finish()).collect();
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    fn past_the_deadline_values_are_counted_not_searched() {
        let mut pool = ColumnPool::start(classifiers(), 2, Instant::now());
        for r in &rows(500) {
            let row: Vec<Option<&[u8]>> =
                r.iter().map(|v| v.as_deref().map(str::as_bytes)).collect();
            pool.push(&row);
        }
        let reports: Vec<_> = pool.finish().into_iter().map(|c| c.finish()).collect();
        assert_eq!(reports[0].sampled, 500);
        assert!(
            reports[0].findings.iter().all(|f| f.matched == 0),
            "{:?}",
            reports[0]
        );
        assert!(reports[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("not searched")));
    }

    #[test]
    fn longest_columns_spread_over_workers() {
        assert_eq!(assign(&[1, 9, 5, 4], 2), vec![vec![1, 0], vec![2, 3]]);
        assert_eq!(assign(&[0, 0, 0], 2), vec![vec![0, 2], vec![1]]);
    }

    #[test]
    fn no_columns_no_workers() {
        let mut pool = ColumnPool::start(Vec::new(), 4, Instant::now());
        assert!(pool.workers.is_empty());
        pool.push(&[Some(b"ignored")]);
        assert!(pool.finish().is_empty());
    }

    #[test]
    fn a_failed_pool_never_waits_for_a_batch() {
        let far = Instant::now() + Duration::from_secs(3600);
        let pool = ColumnPool::start(classifiers(), 1, far);
        pool.shared.fail();
        // Batch 5 of column 0 would wait for batches 0-4, which no worker will observe.
        let mut batch = Batch::new(5, 3);
        batch.cells.extend([None, None, None]);
        observe(&pool.shared, &batch, 0, far);
        let reports = pool.finish();
        assert_eq!(reports.len(), 3);
    }

    #[test]
    fn dropped_without_finish_stops_its_workers() {
        let mut pool = ColumnPool::start(classifiers(), 2, Instant::now());
        pool.push(&[Some(b"13912345678"), None, None]);
        drop(pool);
    }
}
