//! A table's column classifiers on worker threads, fed rows in batches, so that detection runs
//! beside the read (the async task only copies rows) and on every core.
//!
//! Rows are copied into a batch; a full batch joins the batches in flight. The unit of work is
//! one column of one batch: an idle worker takes the column whose next batch is the oldest in
//! flight (of those, the column that has taken longest so far), so no worker waits while another
//! has work queued, and one expensive free-text column does not leave the other cores idle. A
//! column observes its batches in order, one at a time, so its report is the one a single thread
//! would give.
//!
//! Memory is bounded: at most [`IN_FLIGHT`] batches beyond one per worker are held, and
//! [`ColumnPool::push`] waits (blocking the calling thread) until every column has observed the
//! oldest one. A worker that panics stops the others and the reader (none waits for work that
//! will never be done), and [`ColumnPool::finish`] raises its panic.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use super::ColumnClassifier;

/// A batch is handed over at this many rows...
const BATCH_ROWS: usize = 4096;
/// ...or this many bytes of values, whichever comes first.
const BATCH_BYTES: usize = 512 << 10;
/// Batches in flight besides one per worker.
const IN_FLIGHT: usize = 3;
/// A column reads the clock every this many values or [`CLOCK_BYTES`], not per value.
const CLOCK_VALUES: u32 = 64;
const CLOCK_BYTES: usize = 64 << 10;

/// Copied rows: `cells[row * width + column]` spans `bytes`, `None` for NULL.
struct Batch {
    width: usize,
    bytes: Vec<u8>,
    cells: Vec<Option<(usize, usize)>>,
}

impl Batch {
    fn new(width: usize) -> Batch {
        Batch {
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

/// One column: its classifier and its detection budget.
struct Column {
    classifier: ColumnClassifier,
    out_of_time: bool,
    values_unchecked: u32,
    bytes_unchecked: usize,
}

/// The work: batches in flight and how far each column has come through them.
#[derive(Default)]
struct Work {
    /// Batches handed over that some column has not observed yet, oldest first.
    batches: VecDeque<Arc<Batch>>,
    /// The number of the oldest batch in `batches` (batches are numbered from 0).
    first: u64,
    /// Per column: the number of the next batch it observes.
    next: Vec<u64>,
    /// Per column: whether a worker is observing it now.
    busy: Vec<bool>,
    /// No batch will be handed over any more.
    closed: bool,
    /// A worker panicked or the pool was dropped: nobody waits for anything any more.
    failed: bool,
}

impl Work {
    /// The column an idle worker should observe next: of the columns free to go on, the one
    /// furthest behind, then the one that has taken longest so far.
    fn pick(&self, nanos: &[AtomicU64]) -> Option<usize> {
        let end = self.first + self.batches.len() as u64;
        (0..self.next.len())
            .filter(|&c| !self.busy[c] && self.next[c] < end)
            .min_by_key(|&c| {
                (
                    self.next[c],
                    std::cmp::Reverse(nanos[c].load(Ordering::Relaxed)),
                )
            })
    }

    /// Drops the batches every column has observed; true when any was dropped.
    fn release(&mut self) -> bool {
        let done = self.next.iter().copied().min().unwrap_or(u64::MAX);
        let mut released = false;
        while self.first < done && self.batches.pop_front().is_some() {
            self.first += 1;
            released = true;
        }
        released
    }

    /// True when nothing is left to observe and nothing more will come.
    fn finished(&self) -> bool {
        self.failed || (self.closed && self.batches.is_empty())
    }
}

/// What the workers and the reader share.
#[derive(Default)]
struct Shared {
    work: Mutex<Work>,
    /// Signalled when a column may go on (a batch arrived, a column was released) or the work
    /// ended.
    ready: Condvar,
    /// Signalled when a batch was released or the pool failed.
    room: Condvar,
    columns: Vec<Mutex<Column>>,
    /// Time each column has taken so far.
    nanos: Vec<AtomicU64>,
}

impl Shared {
    fn work(&self) -> MutexGuard<'_, Work> {
        self.work.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the pool failed and wakes every waiter.
    fn fail(&self) {
        self.work().failed = true;
        self.ready.notify_all();
        self.room.notify_all();
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

/// Column classifiers observing rows on worker threads (see the module docs).
pub struct ColumnPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    batch: Batch,
    /// Batches held at most.
    limit: usize,
}

impl ColumnPool {
    /// Starts `threads` workers (at least one, at most one per column; none without columns) for
    /// `classifiers`, one per field of the rows to come. After `deadline`, values are counted
    /// but not searched ([`ColumnClassifier::skip`]).
    pub fn start(classifiers: Vec<ColumnClassifier>, threads: usize, deadline: Instant) -> Self {
        let width = classifiers.len();
        let shared = Arc::new(Shared {
            work: Mutex::new(Work {
                next: vec![0; width],
                busy: vec![false; width],
                ..Work::default()
            }),
            ready: Condvar::new(),
            room: Condvar::new(),
            columns: classifiers
                .into_iter()
                .map(|classifier| {
                    Mutex::new(Column {
                        classifier,
                        out_of_time: false,
                        // The first value reads the clock.
                        values_unchecked: CLOCK_VALUES,
                        bytes_unchecked: 0,
                    })
                })
                .collect(),
            nanos: (0..width).map(|_| AtomicU64::new(0)).collect(),
        });
        let threads = threads.max(1).min(width);
        let mut workers = Vec::new();
        for _ in 0..threads {
            let shared = Arc::clone(&shared);
            let worker = std::thread::Builder::new()
                .name("dw-classify".into())
                .spawn(move || work(&shared, deadline));
            // Out of threads (a process or cgroup limit): fewer workers will do; none at all
            // leaves nothing to classify with.
            match worker {
                Ok(worker) => workers.push(worker),
                Err(e) if !workers.is_empty() => {
                    tracing::warn!(error = %e, started = workers.len(), "classifier threads");
                    break;
                }
                Err(e) => panic!("cannot start a classifier thread: {e}"),
            }
        }
        ColumnPool {
            shared,
            limit: workers.len() + IN_FLIGHT,
            workers,
            batch: Batch::new(width),
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

    /// Adds the current batch to the batches in flight, first waiting for room; a failed pool
    /// (or one without workers) drops it.
    fn hand_over(&mut self) {
        let width = self.batch.width;
        let batch = std::mem::replace(&mut self.batch, Batch::new(width));
        if batch.cells.is_empty() || self.workers.is_empty() {
            return;
        }
        let mut work = self.shared.work();
        while work.batches.len() >= self.limit && !work.failed {
            work = self
                .shared
                .room
                .wait(work)
                .unwrap_or_else(|p| p.into_inner());
        }
        if work.failed {
            return;
        }
        work.batches.push_back(Arc::new(batch));
        drop(work);
        self.shared.ready.notify_all();
    }

    /// Stops taking batches and wakes the workers so that they end when the work is done.
    fn close(&self, failed: bool) {
        let mut work = self.shared.work();
        work.closed = true;
        work.failed |= failed;
        drop(work);
        self.shared.ready.notify_all();
        self.shared.room.notify_all();
    }

    /// Observes what is left, stops the workers and returns the classifiers in column order.
    pub fn finish(mut self) -> Vec<ColumnClassifier> {
        self.hand_over();
        self.close(false);
        for w in std::mem::take(&mut self.workers) {
            if let Err(panic) = w.join() {
                std::panic::resume_unwind(panic);
            }
        }
        let shared = std::mem::take(&mut self.shared);
        let shared = Arc::try_unwrap(shared).unwrap_or_else(|_| unreachable!("workers joined"));
        shared
            .columns
            .into_iter()
            .map(|c| c.into_inner().unwrap_or_else(|p| p.into_inner()).classifier)
            .collect()
    }
}

impl Drop for ColumnPool {
    /// A pool dropped without [`ColumnPool::finish`] (the read failed) stops its workers.
    fn drop(&mut self) {
        if self.workers.is_empty() {
            return;
        }
        self.close(true);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A worker: observes one column of one batch at a time until the work is finished.
fn work(shared: &Shared, deadline: Instant) {
    let _fail = FailOnPanic(shared);
    let mut work = shared.work();
    loop {
        if work.finished() {
            return;
        }
        let Some(c) = work.pick(&shared.nanos) else {
            work = shared.ready.wait(work).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        work.busy[c] = true;
        let batch = Arc::clone(&work.batches[(work.next[c] - work.first) as usize]);
        drop(work);
        observe(shared, &batch, c, deadline);
        work = shared.work();
        work.busy[c] = false;
        work.next[c] += 1;
        if work.release() {
            shared.room.notify_one();
        }
        // Column `c` may go on, and the end may have come: let the others look.
        shared.ready.notify_all();
    }
}

/// Observes column `c` of `batch` (its next batch).
fn observe(shared: &Shared, batch: &Batch, c: usize, deadline: Instant) {
    let mut col = shared.columns[c].lock().unwrap_or_else(|p| p.into_inner());
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
    shared.nanos[c].fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
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
    fn an_idle_worker_takes_the_column_furthest_behind_then_the_slowest() {
        let nanos: Vec<AtomicU64> = [1, 9, 5, 4].into_iter().map(AtomicU64::new).collect();
        let mut work = Work {
            batches: (0..3).map(|_| Arc::new(Batch::new(4))).collect(),
            first: 7,
            next: vec![8, 8, 7, 10],
            busy: vec![false; 4],
            ..Work::default()
        };
        // Column 2 is furthest behind; column 3 has observed every batch in flight.
        assert_eq!(work.pick(&nanos), Some(2));
        work.busy[2] = true;
        // Columns 0 and 1 are as far: the slower one (1) first.
        assert_eq!(work.pick(&nanos), Some(1));
        work.busy[1] = true;
        assert_eq!(work.pick(&nanos), Some(0));
        work.busy[0] = true;
        assert_eq!(work.pick(&nanos), None);
        // Batch 7 is released once column 2 has observed it, not before.
        assert!(!work.release());
        work.next[2] = 8;
        assert!(work.release());
        assert_eq!((work.first, work.batches.len()), (8, 2));
    }

    #[test]
    fn no_columns_no_workers() {
        let mut pool = ColumnPool::start(Vec::new(), 4, Instant::now());
        assert!(pool.workers.is_empty());
        pool.push(&[Some(b"ignored")]);
        assert!(pool.finish().is_empty());
    }

    #[test]
    fn a_failed_pool_never_waits_for_room() {
        let far = Instant::now() + Duration::from_secs(3600);
        let mut pool = ColumnPool::start(classifiers(), 1, far);
        pool.shared.fail();
        // Far more batches than fit in flight: pushing must not wait for a worker that stopped.
        for _ in 0..(pool.limit + 3) * BATCH_ROWS {
            pool.push(&[Some(b"13912345678"), None, None]);
        }
        let reports = pool.finish();
        assert_eq!(reports.len(), 3);
    }

    #[test]
    fn dropped_without_finish_stops_its_workers() {
        let mut pool = ColumnPool::start(classifiers(), 2, Instant::now());
        pool.push(&[Some(b"13912345678"), None, None]);
        drop(pool);
        // With every batch it may hold in flight, and more pushed meanwhile: the workers stop
        // after the column they observe, and nobody waits.
        let far = Instant::now() + Duration::from_secs(3600);
        let mut pool = ColumnPool::start(classifiers(), 1, far);
        let data = rows((pool.limit + 1) * BATCH_ROWS);
        for r in &data {
            let row: Vec<Option<&[u8]>> =
                r.iter().map(|v| v.as_deref().map(str::as_bytes)).collect();
            pool.push(&row);
        }
        drop(pool);
    }
}
