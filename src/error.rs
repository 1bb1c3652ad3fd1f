//! The library's error type. Every message says what went wrong and what to do about it.
//! Messages never contain secrets or raw personal data.

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors raised by the datawarden library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration file is wrong; `line` and `key` point at the place to fix.
    #[error("{file}:{line}: {key}: {message}")]
    Config {
        file: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    /// A detector file is wrong.
    #[error("detector file {file}: {message}")]
    Detector { file: PathBuf, message: String },
    /// A secret (`file:`, `env:`, `credential:`) could not be read.
    #[error("secret {reference}: {message}")]
    Secret { reference: String, message: String },
    /// A database source failed. `source_name` names the config entry, never its password.
    #[error("source {source_name}: {message}")]
    Source {
        source_name: String,
        message: String,
    },
    /// A database source failed in a way that a later attempt can fix: the connection was lost,
    /// a lock wait timed out, a deadlock or serialization failure rolled the transaction back.
    /// Displayed like [`Error::Source`]; [`Error::is_retryable`] tells them apart.
    #[error("source {source_name}: {message}")]
    Transient {
        source_name: String,
        message: String,
    },
    /// The inventory store failed.
    #[error("inventory store: {0}")]
    Inventory(String),
    /// This node lost the lease of the job run it was writing for (it expired, or another node
    /// took the run over with a newer fencing epoch); the write was refused and rolled back.
    #[error("lease lost: {0}")]
    LeaseLost(String),
    /// A retention policy refused to run or failed.
    #[error("policy {policy}: {message}")]
    Policy { policy: String, message: String },
    /// A policy's preflight refused to run it (its table, key, columns, clock, foreign keys or
    /// data make the run unsafe or impossible); nothing was changed. Displayed like
    /// [`Error::Policy`].
    #[error("policy {policy}: {message}")]
    Refused { policy: String, message: String },
    /// Cryptographic failure (wrong key, tampered ciphertext, malformed envelope).
    #[error("crypto: {0}")]
    Crypto(String),
    /// Input/output failure on a named path. The cause is part of the message (not a `source`),
    /// so a report that prints the error chain names it once.
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// Anything else, with a message that says what to do.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// True when retrying the same work can succeed ([`Error::Transient`]): the daemon retries
    /// only these. A refusal, a safety brake, a bad config or a failed check never change by
    /// themselves.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Transient { .. })
    }

    /// True when a policy's preflight refused the run ([`Error::Refused`]).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::Refused { .. })
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }
}
