//! Configuration: one TOML file, deserialized with serde and validated before anything connects.
//!
//! Unknown keys are errors. Every error names the file, the line and the key. `${VAR}` in URLs,
//! paths and secrets expands from the environment; secrets may also be `file:`, `env:` or
//! `credential:` references (see [`secret`]). Relative paths (detector directory, SQLite files) are
//! resolved against the directory of the config file.

pub mod clock;
mod locate;
pub mod predicate;
pub mod retain;
pub mod secret;
pub mod subject;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml_edit::ImDocument;

pub use clock::TimestampFormat;
pub use retain::{parse_duration, Retain, RetainUnit};
pub use secret::{Secret, SecretValue};
pub use subject::{KeepConfig, SubjectRequestsConfig};

use crate::error::{Error, Result};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Extra detector files; a file whose `id` matches a built-in detector replaces it.
    pub detectors_dir: Option<PathBuf>,
    /// IANA time zone for cron schedules (default UTC).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Where the inventory, scan history and audit trail are stored.
    #[serde(default)]
    pub inventory: InventoryConfig,
    /// Defaults for every source's scan.
    #[serde(default)]
    pub scan: ScanConfig,
    /// The databases to scan and enforce on.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Encryption and pseudonymization keys.
    #[serde(default)]
    pub keys: KeysConfig,
    /// Retention policies.
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
    /// Settings of `datawarden run`.
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// Where the audit trail's chain heads are published.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Data subject requests: deadline and kept tables.
    #[serde(default)]
    pub subject_requests: SubjectRequestsConfig,
    /// The file this configuration was read from (set by [`Config::load`]).
    #[serde(skip)]
    pub path: PathBuf,
}

fn default_timezone() -> String {
    "UTC".into()
}

/// `[inventory]`
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryConfig {
    /// `sqlite://path` (created on first use) or `postgres://user@host/database` (the database
    /// must exist; its tables are created on first use). Never logged with its password.
    #[serde(default = "default_inventory_url")]
    pub url: String,
}

/// Shows the URL with its password replaced (the URL of a PostgreSQL inventory may carry one).
impl std::fmt::Debug for InventoryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InventoryConfig")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

fn default_inventory_url() -> String {
    "sqlite://datawarden-inventory.db".into()
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            url: default_inventory_url(),
        }
    }
}

/// `[audit]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// A file outside the inventory that every enforcement run appends its chain head to
    /// (`TIME POLICY RUN_ID SEQ:HASH`); `audit verify` checks each head is still in the trail.
    /// Relative paths are resolved against the config file's directory.
    pub anchor_file: Option<PathBuf>,
}

/// How values are drawn from a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScanMode {
    /// A bounded random sample per column (TABLESAMPLE, random key ranges, first rows).
    #[default]
    Sample,
    /// Every row, streamed with keyset pagination.
    Full,
}

/// `[scan]`: defaults that each `[[sources]]` entry may override.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Non-null values sampled per column.
    #[serde(default = "default_sample_size")]
    pub sample_size: u32,
    /// `sample` or `full`.
    #[serde(default)]
    pub mode: ScanMode,
    /// Connections per source.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Per-statement timeout, e.g. "30s".
    #[serde(default = "default_statement_timeout")]
    pub statement_timeout: String,
    /// How long a view that has no lineage is read before it is recorded as timed out, e.g. "2s".
    #[serde(default = "default_view_timeout")]
    pub view_timeout: String,
    /// Detection time per table, e.g. "10s": values left when it runs out are not searched (the
    /// column records that its detection was cut short).
    #[serde(default = "default_detect_budget")]
    pub detect_budget: String,
    /// Values longer than this many bytes are searched only in their first this-many bytes.
    #[serde(default = "default_max_value_bytes")]
    pub max_value_bytes: usize,
    /// Full mode: rows per key range, one short statement each (wide rows get fewer).
    #[serde(default = "default_full_range_rows")]
    pub full_range_rows: u32,
    /// Threads that classify a table's columns beside the read (default: one per core; fewer
    /// leaves CPU to a database server on the same machine).
    #[serde(default = "default_detect_threads")]
    pub detect_threads: usize,
}

fn default_detect_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn default_full_range_rows() -> u32 {
    crate::sources::FULL_RANGE_ROWS
}

fn default_view_timeout() -> String {
    "2s".into()
}
fn default_detect_budget() -> String {
    "10s".into()
}
fn default_max_value_bytes() -> usize {
    crate::classify::DEFAULT_MAX_VALUE_BYTES
}

fn default_sample_size() -> u32 {
    2000
}
fn default_max_connections() -> u32 {
    2
}
fn default_statement_timeout() -> String {
    "30s".into()
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            sample_size: default_sample_size(),
            mode: ScanMode::Sample,
            max_connections: default_max_connections(),
            statement_timeout: default_statement_timeout(),
            view_timeout: default_view_timeout(),
            detect_budget: default_detect_budget(),
            max_value_bytes: default_max_value_bytes(),
            full_range_rows: default_full_range_rows(),
            detect_threads: default_detect_threads(),
        }
    }
}

/// `[[sources]]`: one database. `Debug` redacts the URL's password.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Name used in the inventory, policies and logs.
    pub name: String,
    /// `postgres://`, `mysql://` (also MariaDB) or `sqlite://path`. Use [`SourceConfig::redacted_url`]
    /// to show it.
    pub url: String,
    /// Password, injected into the URL at connect time (`file:`, `env:`, `credential:`).
    pub password: Option<Secret>,
    /// Cron schedule of scans under `datawarden run`.
    pub schedule: Option<String>,
    /// Schema globs to scan (default: all but system schemas).
    #[serde(default)]
    pub include_schemas: Vec<String>,
    /// Schema globs to skip.
    #[serde(default)]
    pub exclude_schemas: Vec<String>,
    /// Table globs (`table` or `schema.table`) to scan (default: all).
    #[serde(default)]
    pub include_tables: Vec<String>,
    /// Table globs to skip.
    #[serde(default)]
    pub exclude_tables: Vec<String>,
    /// Table globs scanned in `full` mode whatever the default mode.
    #[serde(default)]
    pub full_tables: Vec<String>,
    /// Overrides `[scan] sample_size`.
    pub sample_size: Option<u32>,
    /// Overrides `[scan] mode`.
    pub mode: Option<ScanMode>,
    /// Overrides `[scan] max_connections`.
    pub max_connections: Option<u32>,
    /// Overrides `[scan] statement_timeout`.
    pub statement_timeout: Option<String>,
    /// Overrides `[scan] view_timeout`.
    pub view_timeout: Option<String>,
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceConfig")
            .field("name", &self.name)
            .field("url", &self.redacted_url())
            .field("password", &self.password)
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

/// The database kind of a source, from its URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Postgres,
    MySql,
    Sqlite,
}

impl Backend {
    /// The backend of a URL, from its scheme.
    pub fn of_url(url: &str) -> Option<Backend> {
        let scheme = url
            .split_once("://")
            .map(|(s, _)| s)
            .or_else(|| url.split_once(':').map(|(s, _)| s))?;
        match scheme {
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            "sqlite" => Some(Backend::Sqlite),
            _ => None,
        }
    }
}

impl SourceConfig {
    /// The backend named by the URL scheme (validated at load time).
    pub fn backend(&self) -> Backend {
        Backend::of_url(&self.url).expect("validated at load")
    }
    /// The URL with any password replaced by `***`, safe for logs and errors.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
    /// The full connection URL with the `password` secret injected. Never log the result.
    pub fn connect_url(&self) -> Result<String> {
        let Some(secret) = &self.password else {
            return Ok(self.url.clone());
        };
        let value = secret.resolve()?;
        let pw = value.expose_str(secret)?;
        let mut url = url::Url::parse(&self.url).map_err(|e| Error::Source {
            source_name: self.name.clone(),
            message: format!("URL {} is not valid: {e}", self.redacted_url()),
        })?;
        url.set_password(Some(pw)).map_err(|_| Error::Source {
            source_name: self.name.clone(),
            message: "cannot set a password on this URL (sqlite URLs take none)".into(),
        })?;
        Ok(url.to_string())
    }
    /// Effective sample size.
    pub fn sample_size(&self, scan: &ScanConfig) -> u32 {
        self.sample_size.unwrap_or(scan.sample_size)
    }
    /// Effective scan mode.
    pub fn mode(&self, scan: &ScanConfig) -> ScanMode {
        self.mode.unwrap_or(scan.mode)
    }
    /// Effective connection limit.
    pub fn max_connections(&self, scan: &ScanConfig) -> u32 {
        self.max_connections.unwrap_or(scan.max_connections)
    }
    /// Effective statement timeout.
    pub fn statement_timeout(&self, scan: &ScanConfig) -> Duration {
        let s = self
            .statement_timeout
            .as_deref()
            .unwrap_or(&scan.statement_timeout);
        parse_duration(s).unwrap_or(Duration::from_secs(30))
    }
    /// Effective view timeout (see [`ScanConfig::view_timeout`]).
    pub fn view_timeout(&self, scan: &ScanConfig) -> Duration {
        let s = self.view_timeout.as_deref().unwrap_or(&scan.view_timeout);
        parse_duration(s).unwrap_or(Duration::from_secs(2))
    }
}

/// Replaces the password of a URL with `***`; URLs that do not parse are shown as scheme only.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            // Query parameters can carry passwords too (`?password=`).
            if u.query()
                .is_some_and(|q| q.to_ascii_lowercase().contains("password"))
            {
                u.set_query(Some("***"));
            }
            u.to_string()
        }
        Err(_) => match raw.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://***"),
            None => "***".into(),
        },
    }
}

/// `[keys]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// The active AES-256-GCM key (32 bytes), used to encrypt.
    pub encryption: Option<Secret>,
    /// Older keys still accepted for decryption, so keys rotate without downtime.
    #[serde(default)]
    pub decryption: Vec<Secret>,
    /// The HMAC-SHA-256 key for pseudonyms.
    pub pseudonym: Option<Secret>,
}

/// What a policy does to expired records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Delete,
    Encrypt,
    Pseudonymize,
    Mask,
    Nullify,
}

impl Action {
    /// The lower-case name used in config, audit and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Delete => "delete",
            Action::Encrypt => "encrypt",
            Action::Pseudonymize => "pseudonymize",
            Action::Mask => "mask",
            Action::Nullify => "nullify",
        }
    }
}

/// One held record set: rows whose `column` equals one of `values` are never touched.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldConfig {
    /// The column compared (usually the key).
    pub column: String,
    /// Values held (bound as text).
    pub values: Vec<String>,
    /// Why (case number, request id), recorded in the audit trail.
    pub reason: String,
}

/// `[[policies]]`: one retention promise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Unique name.
    pub name: String,
    /// The promise as the privacy policy words it, recorded as evidence.
    pub description: String,
    /// The `[[sources]]` name.
    pub source: String,
    /// `table` or `schema.table`.
    pub table: String,
    /// The column that starts the retention clock. Absent (empty) only with `retain = "0d"`: the
    /// policy then acts on every row matching the filter ([`PolicyConfig::clock_column`]).
    #[serde(default)]
    pub timestamp_column: String,
    /// How `timestamp_column` holds time when it is not a date/time type: `unix_seconds`,
    /// `unix_millis`, `julian_day` or a text format such as `%d/%m/%Y` ([`TimestampFormat`]).
    pub timestamp_format: Option<String>,
    /// How long records are kept after the timestamp: `90d`, `6w`, `3m`, `5y`.
    pub retain: String,
    /// Optional SQL predicate written by the DBA, e.g. `status = 'closed'`.
    pub filter: Option<String>,
    /// delete | encrypt | pseudonymize | mask | nullify
    pub action: Action,
    /// Columns transformed by encrypt, pseudonymize, mask and nullify.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Cron schedule of enforcement under `datawarden run`.
    pub schedule: Option<String>,
    /// The most rows one batch transaction may touch (a hard upper bound). Unset: batches start at
    /// [`DEFAULT_FIRST_BATCH`] rows and adapt up to [`MAX_BATCH_SIZE`]. Either way a batch whose
    /// transaction takes longer than [`BATCH_TIME_BUDGET`] makes the next one half as large, and
    /// batches grow again (doubling, never above the limit) while they stay well under it.
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// SQL predicate for rows under legal hold; held rows are excluded from every action.
    pub legal_hold: Option<String>,
    /// Explicit holds by value.
    #[serde(default)]
    pub holds: Vec<HoldConfig>,
    /// Safety brake: stop when a run would affect more rows than this.
    pub max_rows: Option<u64>,
    /// Safety brake: stop when a run would affect more than this share (0-1) of the table.
    pub max_share: Option<f64>,
    /// Pause between batches, e.g. "100ms".
    pub pause: Option<String>,
    /// Lock wait timeout per batch statement, e.g. "5s".
    #[serde(default = "default_lock_timeout")]
    pub lock_timeout: String,
    /// Statement timeout per batch statement, e.g. "30s".
    #[serde(default = "default_policy_statement_timeout")]
    pub statement_timeout: String,
    /// Child tables (`table` or `schema.table`) whose rows referencing a deleted row are deleted
    /// first, for foreign keys that would otherwise block the delete.
    #[serde(default)]
    pub delete_children: Vec<String>,
    /// Set by a data subject erasure, never read from a file: the run acts only on these rows of
    /// the table ([`crate::retention::plan::SubjectScope`]).
    #[serde(skip)]
    pub subject: Option<std::sync::Arc<crate::retention::plan::SubjectScope>>,
}

/// The brake of a delete policy that sets neither `max_rows` nor `max_share`: one run may delete
/// at most half of the table (raise it with `max_share = 1.0`).
pub const DEFAULT_DELETE_MAX_SHARE: f64 = 0.5;
/// The first batch of a policy without `batch_size`.
pub const DEFAULT_FIRST_BATCH: u32 = 1000;
/// The largest allowed `batch_size`, and the limit of adaptive batches when it is unset.
pub const MAX_BATCH_SIZE: u32 = 50_000;
/// The time a batch transaction should stay under: longer batches halve the next batch size,
/// batches under half of it may double (up to the batch limit).
pub const BATCH_TIME_BUDGET: Duration = Duration::from_millis(250);
fn default_lock_timeout() -> String {
    "5s".into()
}
fn default_policy_statement_timeout() -> String {
    "30s".into()
}

impl PolicyConfig {
    /// The parsed retention period (validated at load time).
    pub fn retain(&self) -> Retain {
        Retain::parse(&self.retain).expect("validated at load")
    }
    /// The retention clock column, or `None` for a policy without one (only allowed with
    /// `retain = "0d"`: every row matching the filter is due).
    pub fn clock_column(&self) -> Option<&str> {
        Some(self.timestamp_column.trim()).filter(|c| !c.is_empty())
    }
    /// `(schema, table)`; schema is `None` when the policy names a bare table.
    pub fn table_parts(&self) -> (Option<&str>, &str) {
        match self.table.split_once('.') {
            Some((s, t)) => (Some(s), t),
            None => (None, &self.table),
        }
    }
    /// The safety brake in force: `(max_rows, max_share)` as configured; a delete policy that sets
    /// neither gets [`DEFAULT_DELETE_MAX_SHARE`] (deletion cannot be undone).
    pub fn brake(&self) -> (Option<u64>, Option<f64>) {
        if self.action == Action::Delete && self.max_rows.is_none() && self.max_share.is_none() {
            (None, Some(DEFAULT_DELETE_MAX_SHARE))
        } else {
            (self.max_rows, self.max_share)
        }
    }
    /// The hard upper bound on rows per batch: `batch_size`, or [`MAX_BATCH_SIZE`] when unset.
    pub fn batch_limit(&self) -> u32 {
        self.batch_size.unwrap_or(MAX_BATCH_SIZE)
    }
    /// The size of the first batch: `batch_size`, or [`DEFAULT_FIRST_BATCH`] when unset.
    pub fn first_batch(&self) -> u32 {
        self.batch_size.unwrap_or(DEFAULT_FIRST_BATCH)
    }
    /// Pause between batches.
    pub fn pause(&self) -> Duration {
        self.pause
            .as_deref()
            .and_then(|p| parse_duration(p).ok())
            .unwrap_or_default()
    }
    /// Lock timeout.
    pub fn lock_timeout(&self) -> Duration {
        parse_duration(&self.lock_timeout).unwrap_or(Duration::from_secs(5))
    }
    /// Statement timeout.
    pub fn statement_timeout(&self) -> Duration {
        parse_duration(&self.statement_timeout).unwrap_or(Duration::from_secs(30))
    }
}

/// `[daemon]`: settings of `datawarden run`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Address of the HTTP listener for /healthz and /metrics (off when unset), e.g. "127.0.0.1:9750".
    pub listen: Option<String>,
    /// How long SIGTERM waits for the batch in flight, e.g. "30s".
    #[serde(default = "default_shutdown_timeout")]
    pub shutdown_timeout: String,
    /// Run a job once at start-up when its last scheduled time passed while the daemon was down.
    #[serde(default = "default_true")]
    pub catch_up: bool,
    /// Retries after a failed job, with exponential backoff.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// First retry delay, doubled each retry, e.g. "30s".
    #[serde(default = "default_retry_backoff")]
    pub retry_backoff: String,
    /// The name this daemon records as the owner of the runs it claims (default: the host name;
    /// `datawarden run --node` overrides it). Daemons sharing an inventory need distinct names.
    pub node: Option<String>,
    /// How long a claimed run stays this node's without a heartbeat, e.g. "30s"; after it,
    /// another node takes the run over.
    #[serde(default = "default_lease")]
    pub lease: String,
    /// At most this many jobs of one source run at once across all daemons (unset: no cap).
    pub max_concurrent_jobs: Option<u32>,
    /// At most this many jobs run at once on this daemon (default 4). A fire time that comes
    /// due while they are all busy waits unclaimed for a free slot, so other daemons sharing the
    /// inventory take it first when they have room.
    #[serde(default = "default_max_running_jobs")]
    pub max_running_jobs: u32,
    /// Finished job runs and claims older than this many days are deleted by the daemon (default
    /// 90); the latest run and latest success of every job are kept.
    #[serde(default = "default_history_days")]
    pub history_days: u32,
}

/// The default of `[daemon] history_days`.
pub const DEFAULT_HISTORY_DAYS: u32 = 90;

fn default_history_days() -> u32 {
    DEFAULT_HISTORY_DAYS
}

/// The default of `[daemon] max_running_jobs`.
pub const DEFAULT_MAX_RUNNING_JOBS: u32 = 4;

fn default_max_running_jobs() -> u32 {
    DEFAULT_MAX_RUNNING_JOBS
}

fn default_lease() -> String {
    "30s".into()
}

fn default_shutdown_timeout() -> String {
    "30s".into()
}
fn default_true() -> bool {
    true
}
fn default_retries() -> u32 {
    3
}
fn default_retry_backoff() -> String {
    "30s".into()
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            listen: None,
            shutdown_timeout: default_shutdown_timeout(),
            catch_up: true,
            retries: default_retries(),
            retry_backoff: default_retry_backoff(),
            node: None,
            lease: default_lease(),
            max_concurrent_jobs: None,
            max_running_jobs: default_max_running_jobs(),
            history_days: default_history_days(),
        }
    }
}

impl DaemonConfig {
    /// Shutdown timeout.
    pub fn shutdown_timeout(&self) -> Duration {
        parse_duration(&self.shutdown_timeout).unwrap_or(Duration::from_secs(30))
    }
    /// First retry delay.
    pub fn retry_backoff(&self) -> Duration {
        parse_duration(&self.retry_backoff).unwrap_or(Duration::from_secs(30))
    }
    /// The lease of a claimed run.
    pub fn lease(&self) -> Duration {
        parse_duration(&self.lease).unwrap_or(Duration::from_secs(30))
    }
}

/// Collects errors found while validating, each with its key path.
struct Problems<'a> {
    file: &'a Path,
    doc: &'a ImDocument<String>,
    first: Option<Error>,
}

impl Problems<'_> {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        if self.first.is_none() {
            let key = key.into();
            self.first = Some(Error::Config {
                file: self.file.to_path_buf(),
                line: locate::line_of(self.doc, &key),
                key,
                message: message.into(),
            });
        }
    }
}

impl Config {
    /// Reads, expands and validates a config file. Nothing connects.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Config::parse(&text, path)
    }

    /// Parses config text that came from `path` (used for error messages and relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let doc: ImDocument<String> =
            text.to_string()
                .parse()
                .map_err(|e: toml_edit::TomlError| {
                    let line = e
                        .span()
                        .map(|s| locate::line_at(text, s.start))
                        .unwrap_or(1);
                    Error::Config {
                        file: path.to_path_buf(),
                        line,
                        key: "(syntax)".into(),
                        message: first_line(e.message()),
                    }
                })?;
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| locate::line_at(text, s.start))
                .unwrap_or(1);
            let key = key_at(text, e.span().map(|s| s.start));
            Error::Config {
                file: path.to_path_buf(),
                line,
                key,
                message: first_line(e.message()),
            }
        })?;
        config.path = path.to_path_buf();
        let mut problems = Problems {
            file: path,
            doc: &doc,
            first: None,
        };
        config.expand(&mut problems);
        config.validate(&mut problems);
        match problems.first {
            Some(e) => Err(e),
            None => Ok(config),
        }
    }

    /// The directory relative paths are resolved against.
    fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    fn expand(&mut self, p: &mut Problems<'_>) {
        let base = self.base_dir();
        let expand = |key: String, s: &mut String, p: &mut Problems<'_>| match expand_vars(s) {
            Ok(v) => *s = v,
            Err(e) => p.add(key, e),
        };
        expand("inventory.url".into(), &mut self.inventory.url, p);
        self.inventory.url = resolve_sqlite_url(&self.inventory.url, &base);
        if let Some(dir) = &mut self.detectors_dir {
            let mut s = dir.to_string_lossy().into_owned();
            expand("detectors_dir".into(), &mut s, p);
            *dir = base.join(s);
        }
        if let Some(f) = &mut self.audit.anchor_file {
            let mut s = f.to_string_lossy().into_owned();
            expand("audit.anchor_file".into(), &mut s, p);
            *f = base.join(s);
        }
        for (i, src) in self.sources.iter_mut().enumerate() {
            expand(format!("sources[{i}].url"), &mut src.url, p);
            src.url = resolve_sqlite_url(&src.url, &base);
            if let Some(Err(e)) = src.password.as_mut().map(Secret::expand_vars) {
                p.add(format!("sources[{i}].password"), e);
            }
        }
        let keys = &mut self.keys;
        let mut secrets: Vec<(String, &mut Secret)> = Vec::new();
        if let Some(s) = keys.encryption.as_mut() {
            secrets.push(("keys.encryption".into(), s));
        }
        for (j, s) in keys.decryption.iter_mut().enumerate() {
            secrets.push((format!("keys.decryption[{j}]"), s));
        }
        if let Some(s) = keys.pseudonym.as_mut() {
            secrets.push(("keys.pseudonym".into(), s));
        }
        for (key, s) in secrets {
            if let Err(e) = s.expand_vars() {
                p.add(key, e);
            }
        }
    }

    fn validate(&self, p: &mut Problems<'_>) {
        if let Err(e) = self.timezone.parse::<chrono_tz::Tz>() {
            p.add(
                "timezone",
                format!("{e}: use an IANA name such as \"UTC\" or \"Asia/Shanghai\""),
            );
        }
        if !matches!(
            Backend::of_url(&self.inventory.url),
            Some(Backend::Sqlite | Backend::Postgres)
        ) {
            p.add(
                "inventory.url",
                format!(
                    "`{}`: the inventory store is SQLite or PostgreSQL: write sqlite://path or postgres://user@host/database",
                    redact_url(&self.inventory.url)
                ),
            );
        }
        check_duration(p, "scan.statement_timeout", &self.scan.statement_timeout);
        check_duration(p, "scan.view_timeout", &self.scan.view_timeout);
        check_duration(p, "scan.detect_budget", &self.scan.detect_budget);
        if self.scan.sample_size == 0 {
            p.add("scan.sample_size", "must be at least 1");
        }
        if self.scan.max_connections == 0 {
            p.add("scan.max_connections", "must be at least 1");
        }
        if self.scan.detect_threads == 0 {
            p.add("scan.detect_threads", "must be at least 1");
        }
        if self.scan.full_range_rows == 0 {
            p.add("scan.full_range_rows", "must be at least 1");
        }
        let key_entries = self
            .keys
            .encryption
            .iter()
            .map(|s| ("keys.encryption".to_string(), s))
            .chain(
                self.keys
                    .decryption
                    .iter()
                    .enumerate()
                    .map(|(j, s)| (format!("keys.decryption[{j}]"), s)),
            )
            .chain(
                self.keys
                    .pseudonym
                    .iter()
                    .map(|s| ("keys.pseudonym".to_string(), s)),
            );
        for (key, s) in key_entries {
            if s.is_literal() {
                p.add(
                    key,
                    "a key is never written into the config: put it in a file (`datawarden keys generate --output PATH`) and write \"file:PATH\", \"env:NAME\" or \"credential:NAME\"",
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let k = |f: &str| format!("sources[{i}].{f}");
            if s.name.trim().is_empty() {
                p.add(k("name"), "must not be empty");
            }
            if !names.insert(s.name.as_str()) {
                p.add(
                    k("name"),
                    format!("source `{}` is defined twice; names must be unique", s.name),
                );
            }
            if Backend::of_url(&s.url).is_none() {
                p.add(
                    k("url"),
                    format!(
                        "{} has no known scheme: use postgres://, mysql:// or sqlite://",
                        redact_url(&s.url)
                    ),
                );
            }
            if let Some(t) = &s.view_timeout {
                check_duration(p, &k("view_timeout"), t);
            }
            if let Some(t) = &s.statement_timeout {
                check_duration(p, &k("statement_timeout"), t);
            }
            if s.sample_size == Some(0) {
                p.add(k("sample_size"), "must be at least 1");
            }
            if s.max_connections == Some(0) {
                p.add(k("max_connections"), "must be at least 1");
            }
            if let Some(expr) = &s.schedule {
                check_schedule(p, &k("schedule"), &format!("source `{}`", s.name), expr);
            }
        }
        let mut policy_names = std::collections::HashSet::new();
        for (i, pol) in self.policies.iter().enumerate() {
            let k = |f: &str| format!("policies[{i}].{f}");
            if !policy_names.insert(pol.name.as_str()) {
                p.add(
                    k("name"),
                    format!(
                        "policy `{}` is defined twice; names must be unique",
                        pol.name
                    ),
                );
            }
            if pol.description.trim().is_empty() {
                p.add(
                    k("description"),
                    "write the promise this policy keeps; it is recorded as evidence",
                );
            }
            if !self.sources.iter().any(|s| s.name == pol.source) {
                p.add(
                    k("source"),
                    format!("no [[sources]] entry is named `{}`", pol.source),
                );
            }
            match Retain::parse(&pol.retain) {
                Err(e) => p.add(k("retain"), e),
                Ok(r) if pol.clock_column().is_none() && !r.is_zero() => p.add(
                    k("timestamp_column"),
                    format!(
                        "policy `{}` keeps rows for {} but names no timestamp_column to count \
                         from: name the column that starts the retention clock, or write \
                         retain = \"0d\" (without timestamp_column) to act on every row matching \
                         the filter",
                        pol.name, pol.retain
                    ),
                ),
                Ok(_) => {}
            }
            if pol.clock_column().is_none() && pol.timestamp_format.is_some() {
                p.add(
                    k("timestamp_format"),
                    "timestamp_format describes timestamp_column, which this policy does not name",
                );
            }
            if let Some(f) = &pol.timestamp_format {
                if let Err(e) = TimestampFormat::parse(f) {
                    p.add(k("timestamp_format"), e);
                }
            }
            match pol.action {
                Action::Delete if !pol.columns.is_empty() => {
                    p.add(k("columns"), "action \"delete\" removes whole rows; remove `columns`")
                }
                Action::Delete => {}
                a if pol.columns.is_empty() => p.add(
                    k("columns"),
                    format!("action \"{}\" needs the columns it transforms, e.g. columns = [\"mobile\"]", a.as_str()),
                ),
                Action::Encrypt if self.keys.encryption.is_none() => {
                    p.add(k("action"), "action \"encrypt\" needs [keys] encryption")
                }
                Action::Pseudonymize if self.keys.pseudonym.is_none() => {
                    p.add(k("action"), "action \"pseudonymize\" needs [keys] pseudonym")
                }
                _ => {}
            }
            if pol.batch_size.is_some_and(|b| b == 0 || b > MAX_BATCH_SIZE) {
                p.add(
                    k("batch_size"),
                    "must be between 1 and 50000 (1000-5000 keeps transactions short)",
                );
            }
            if let Some(share) = pol.max_share {
                if !(share > 0.0 && share <= 1.0) {
                    p.add(
                        k("max_share"),
                        "must be a share of the table between 0 (exclusive) and 1",
                    );
                }
            }
            if let Some(d) = &pol.pause {
                check_duration(p, &k("pause"), d);
            }
            check_duration(p, &k("lock_timeout"), &pol.lock_timeout);
            check_duration(p, &k("statement_timeout"), &pol.statement_timeout);
            for (j, h) in pol.holds.iter().enumerate() {
                if h.reason.trim().is_empty() {
                    p.add(
                        format!("policies[{i}].holds[{j}].reason"),
                        "say why the records are held",
                    );
                }
            }
            if let Some(expr) = &pol.schedule {
                check_schedule(p, &k("schedule"), &format!("policy `{}`", pol.name), expr);
            }
            let backend = self
                .sources
                .iter()
                .find(|s| s.name == pol.source)
                .and_then(|s| Backend::of_url(&s.url));
            if let Some(backend) = backend {
                for (key, sql) in [("filter", &pol.filter), ("legal_hold", &pol.legal_hold)] {
                    if let Some(Err(e)) = sql
                        .as_deref()
                        .map(|s| predicate::check_predicate(backend, s))
                    {
                        p.add(k(key), e);
                    }
                }
            }
        }
        self.validate_subject_requests(p);
        check_duration(p, "daemon.shutdown_timeout", &self.daemon.shutdown_timeout);
        check_duration(p, "daemon.retry_backoff", &self.daemon.retry_backoff);
        check_duration(p, "daemon.lease", &self.daemon.lease);
        if self.daemon.lease() < std::time::Duration::from_secs(1) {
            p.add("daemon.lease", "the lease must be at least 1s".to_string());
        }
        if self.daemon.max_concurrent_jobs == Some(0) {
            p.add(
                "daemon.max_concurrent_jobs",
                "must be at least 1 (leave it out for no cap)".to_string(),
            );
        }
        if self.daemon.max_running_jobs == 0 {
            p.add(
                "daemon.max_running_jobs",
                format!(
                    "must be at least 1 (default {DEFAULT_MAX_RUNNING_JOBS}): the jobs this daemon runs at once"
                ),
            );
        }
        if !(1..=36_500).contains(&self.daemon.history_days) {
            p.add(
                "daemon.history_days",
                format!(
                    "must be between 1 and 36500 days (default {DEFAULT_HISTORY_DAYS}): how long finished job runs are kept"
                ),
            );
        }
        if let Some(node) = &self.daemon.node {
            if node.trim().is_empty() {
                p.add(
                    "daemon.node",
                    "must not be empty (leave it out for the host name)".to_string(),
                );
            }
        }
        if let Some(listen) = &self.daemon.listen {
            if listen.parse::<std::net::SocketAddr>().is_err() {
                p.add(
                    "daemon.listen",
                    format!("`{listen}` is not an address: write e.g. \"127.0.0.1:9750\""),
                );
            }
        }
    }

    fn validate_subject_requests(&self, p: &mut Problems<'_>) {
        let sr = &self.subject_requests;
        match Retain::parse(&sr.respond_within) {
            Err(e) => p.add("subject_requests.respond_within", e),
            Ok(r) if r.is_zero() => p.add(
                "subject_requests.respond_within",
                "the deadline must be longer than 0 days, e.g. \"15d\"",
            ),
            Ok(_) => {}
        }
        if sr.batch_size.is_some_and(|b| b == 0 || b > MAX_BATCH_SIZE) {
            p.add("subject_requests.batch_size", "must be between 1 and 50000");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, k) in sr.keep.iter().enumerate() {
            let key = |f: &str| format!("subject_requests.keep[{i}].{f}");
            if !self.sources.iter().any(|s| s.name == k.source) {
                p.add(
                    key("source"),
                    format!("no [[sources]] entry is named `{}`", k.source),
                );
            }
            if k.table.trim().is_empty() {
                p.add(key("table"), "name the table whose rows are kept");
            }
            if !seen.insert((k.source.as_str(), k.table.as_str())) {
                p.add(
                    key("table"),
                    format!("{}.{} is listed twice", k.source, k.table),
                );
            }
            match k.action {
                Action::Delete => p.add(
                    key("action"),
                    "a kept table keeps its rows: use mask, nullify, pseudonymize or encrypt",
                ),
                Action::Encrypt if self.keys.encryption.is_none() => {
                    p.add(key("action"), "action \"encrypt\" needs [keys] encryption")
                }
                Action::Pseudonymize if self.keys.pseudonym.is_none() => p.add(
                    key("action"),
                    "action \"pseudonymize\" needs [keys] pseudonym",
                ),
                _ => {}
            }
        }
    }

    /// The parsed time zone (validated at load time).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The source named `name`.
    pub fn source(&self, name: &str) -> Result<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<_> = self.sources.iter().map(|s| s.name.as_str()).collect();
            Error::Other(format!(
                "no source named `{name}` in {}; known: {}",
                self.path.display(),
                known.join(", ")
            ))
        })
    }

    /// The policy named `name`.
    pub fn policy(&self, name: &str) -> Result<&PolicyConfig> {
        self.policies
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| {
                let known: Vec<_> = self.policies.iter().map(|s| s.name.as_str()).collect();
                Error::Other(format!(
                    "no policy named `{name}` in {}; known: {}",
                    self.path.display(),
                    known.join(", ")
                ))
            })
    }

    /// Resolves every secret once, to prove they are readable. Errors name the reference only.
    pub fn check_secrets(&self) -> Result<()> {
        let keys = &self.keys;
        let all = self
            .sources
            .iter()
            .filter_map(|s| s.password.as_ref())
            .chain(keys.encryption.iter())
            .chain(keys.decryption.iter())
            .chain(keys.pseudonym.iter());
        for s in all {
            s.resolve()?;
        }
        Ok(())
    }
}

fn check_duration(p: &mut Problems<'_>, key: &str, value: &str) {
    if let Err(e) = parse_duration(value) {
        p.add(key, e);
    }
}

fn check_schedule(p: &mut Problems<'_>, key: &str, owner: &str, expr: &str) {
    if let Err(e) = crate::schedule::Cron::parse(expr) {
        p.add(key, format!("{owner}: cron expression `{expr}`: {e}"));
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// The key written on the line of `offset`, for serde errors that report only a span.
fn key_at(text: &str, offset: Option<usize>) -> String {
    let Some(off) = offset else {
        return "(unknown)".into();
    };
    let start = text[..off.min(text.len())]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let line = text[start..].lines().next().unwrap_or("").trim();
    match line.split_once('=') {
        Some((k, _)) => k.trim().to_string(),
        None => line.trim_matches(|c| c == '[' || c == ']').to_string(),
    }
}

/// Expands `${VAR}` from the environment; a missing variable is an error naming it.
pub fn expand_vars(s: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated ${ (write ${NAME})".to_string())?;
        let name = &after[..end];
        let value =
            std::env::var(name).map_err(|_| format!("environment variable `{name}` is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Makes a relative `sqlite://path` absolute against `base`; other URLs are returned unchanged.
fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_string();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.starts_with('/') || path == ":memory:" || path.is_empty() {
        return url.to_string();
    }
    let abs = base.join(path);
    match query {
        Some(q) => format!("sqlite://{}?{q}", abs.display()),
        None => format!("sqlite://{}", abs.display()),
    }
}

#[cfg(test)]
mod tests;
