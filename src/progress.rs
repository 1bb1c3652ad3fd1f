//! Progress of long batched work: the library calls a [`BatchObserver`] after each committed
//! batch (enforcement runs, and any other batched job that reports the same way) and stays free
//! of terminal code; the CLI draws a bar on a terminal and [`LogBatches`] writes log lines
//! otherwise.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One committed batch of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchDone {
    /// The batch's number in its run (counting batches before a resume).
    pub batch: u64,
    /// Rows this batch deleted or changed.
    pub rows: u64,
    /// Rows done so far in the run (counting rows before a resume).
    pub rows_done: u64,
    /// Rows the run expects to do in all: rows done before this process started plus the rows
    /// eligible at its preflight. `rows_done` may pass it when rows became eligible meanwhile.
    pub rows_total: u64,
    /// The batch's transaction time.
    pub took: Duration,
}

/// Told about the progress of batched work. Called from the task's thread between batches, so
/// implementations must be quick (no I/O that can block for long).
pub trait BatchObserver: Send + Sync + std::fmt::Debug {
    /// `task` (a policy name) starts its batches with `rows_done` of `rows_total` rows done
    /// (non-zero when it resumes a checkpoint).
    fn started(&self, task: &str, rows_done: u64, rows_total: u64) {
        let _ = (task, rows_done, rows_total);
    }
    /// A batch of `task` committed.
    fn batch(&self, task: &str, done: &BatchDone) {
        let _ = (task, done);
    }
}

/// Writes one log line (`tracing` info) per committed batch, or, on fast tables, one per
/// `every` (the batches in between are counted in the next line): rows done of total, batches,
/// rate and estimated time left.
#[derive(Debug)]
pub struct LogBatches {
    every: Duration,
    tasks: Mutex<HashMap<String, TaskClock>>,
}

#[derive(Debug, Clone, Copy)]
struct TaskClock {
    started: Instant,
    rows_at_start: u64,
    last_line: Option<Instant>,
}

impl LogBatches {
    /// At most one line per `every` and task (the first batch is always logged).
    pub fn new(every: Duration) -> LogBatches {
        LogBatches {
            every,
            tasks: Mutex::new(HashMap::new()),
        }
    }
}

impl Default for LogBatches {
    /// One line per second at most.
    fn default() -> Self {
        LogBatches::new(Duration::from_secs(1))
    }
}

impl BatchObserver for LogBatches {
    fn started(&self, task: &str, rows_done: u64, rows_total: u64) {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).insert(
            task.to_string(),
            TaskClock {
                started: Instant::now(),
                rows_at_start: rows_done,
                last_line: None,
            },
        );
        tracing::info!(policy = task, rows_done, rows_total, "batches starting");
    }

    fn batch(&self, task: &str, done: &BatchDone) {
        let Some((rate, eta)) = self.due(task, done, Instant::now()) else {
            return;
        };
        tracing::info!(
            policy = task,
            batch = done.batch,
            rows_done = done.rows_done,
            rows_total = done.rows_total,
            rows_per_s = rate.round() as u64,
            eta_s = eta.map(|d| d.as_secs()),
            batch_ms = done.took.as_millis() as u64,
            "batch committed"
        );
    }
}

impl LogBatches {
    /// The rate and time left when this batch gets a line: the first batch of a task, the last
    /// (all rows done), and any batch at least `every` after the previous line.
    fn due(&self, task: &str, done: &BatchDone, now: Instant) -> Option<(f64, Option<Duration>)> {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let clock = tasks.entry(task.to_string()).or_insert(TaskClock {
            started: now,
            rows_at_start: done.rows_done.saturating_sub(done.rows),
            last_line: None,
        });
        let last_batch = done.rows_done >= done.rows_total;
        if clock
            .last_line
            .is_some_and(|t| now.duration_since(t) < self.every && !last_batch)
        {
            return None;
        }
        clock.last_line = Some(now);
        Some(rate_eta(clock.started, clock.rows_at_start, done, now))
    }
}

/// Rows per second since the task started in this process, and the time left at that rate.
pub fn rate_eta(
    started: Instant,
    rows_at_start: u64,
    done: &BatchDone,
    now: Instant,
) -> (f64, Option<Duration>) {
    let secs = now.duration_since(started).as_secs_f64();
    let rows = done.rows_done.saturating_sub(rows_at_start) as f64;
    if secs <= 0.0 || rows <= 0.0 {
        return (0.0, None);
    }
    let rate = rows / secs;
    let left = done.rows_total.saturating_sub(done.rows_done) as f64;
    (rate, Some(Duration::from_secs_f64(left / rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_count_only_this_process() {
        let t0 = Instant::now();
        let done = BatchDone {
            batch: 3,
            rows: 100,
            rows_done: 1300,
            rows_total: 2300,
            took: Duration::from_millis(5),
        };
        // 1000 rows were done before a resume; 300 in 3 s here: 100 rows/s, 1000 left: 10 s.
        let (rate, eta) = rate_eta(t0, 1000, &done, t0 + Duration::from_secs(3));
        assert!((rate - 100.0).abs() < 1e-9);
        assert_eq!(eta, Some(Duration::from_secs(10)));
        assert_eq!(
            rate_eta(t0, 1300, &done, t0 + Duration::from_secs(1)).1,
            None
        );
    }

    #[test]
    fn log_lines_come_per_batch_on_slow_tables_and_per_second_on_fast_ones() {
        let log = LogBatches::new(Duration::from_secs(1));
        let t0 = Instant::now();
        log.tasks.lock().unwrap().insert(
            "p".into(),
            TaskClock {
                started: t0,
                rows_at_start: 0,
                last_line: None,
            },
        );
        let b = |batch: u64, rows_done: u64| BatchDone {
            batch,
            rows: 10,
            rows_done,
            rows_total: 100,
            took: Duration::from_millis(1),
        };
        let ms = |n: u64| t0 + Duration::from_millis(n);
        assert!(log.due("p", &b(1, 10), ms(10)).is_some(), "the first batch");
        assert!(log.due("p", &b(2, 20), ms(20)).is_none(), "fast: skipped");
        assert!(log.due("p", &b(3, 30), ms(900)).is_none());
        assert!(
            log.due("p", &b(4, 40), ms(1010)).is_some(),
            "a second later"
        );
        assert!(
            log.due("p", &b(5, 50), ms(2500)).is_some(),
            "slow: every batch"
        );
        assert!(
            log.due("p", &b(10, 100), ms(2510)).is_some(),
            "the last batch"
        );
        // Another task has its own clock.
        assert!(log.due("q", &b(1, 10), ms(2520)).is_some());
    }
}
