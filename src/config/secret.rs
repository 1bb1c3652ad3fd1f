//! Secrets: database passwords and keys, written in the config either literally or as a reference
//! (`file:/path`, `env:NAME`, `credential:NAME` = `$CREDENTIALS_DIRECTORY/NAME`).
//!
//! A [`Secret`] remembers only how to find the value; its `Debug` and `Display` never show a literal
//! value. Resolved values live in [`SecretValue`], which zeroes its memory on drop.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// How a secret is found. Deserializes from a string.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum Secret {
    /// `file:/path`: the file's contents (one trailing newline is dropped).
    File(PathBuf),
    /// `env:NAME`: the environment variable.
    Env(String),
    /// `credential:NAME`: `$CREDENTIALS_DIRECTORY/NAME`, as systemd's `LoadCredential=` provides.
    Credential(String),
    /// The value itself, written in the config (discouraged outside development).
    Literal(Zeroizing<String>),
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        if let Some(p) = s.strip_prefix("file:") {
            Secret::File(PathBuf::from(p))
        } else if let Some(n) = s.strip_prefix("env:") {
            Secret::Env(n.to_string())
        } else if let Some(n) = s.strip_prefix("credential:") {
            Secret::Credential(n.to_string())
        } else {
            Secret::Literal(Zeroizing::new(s))
        }
    }
}

/// A resolved secret value. Zeroed on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// Wraps raw bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretValue(Zeroizing::new(bytes))
    }
    /// The raw bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    /// The value as UTF-8 text, or an error naming only the reference.
    pub fn expose_str(&self, reference: &Secret) -> Result<&str> {
        std::str::from_utf8(&self.0).map_err(|_| Error::Secret {
            reference: reference.to_string(),
            message: "value is not valid UTF-8".into(),
        })
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

impl Secret {
    /// True for a value written in the config itself rather than a reference.
    pub fn is_literal(&self) -> bool {
        matches!(self, Secret::Literal(_))
    }

    /// Expands `${VAR}` in the reference (path, variable or credential name) or literal value from
    /// the environment. The error names the variable, never a value.
    pub fn expand_vars(&mut self) -> std::result::Result<(), String> {
        match self {
            Secret::File(p) => {
                let s = p.to_string_lossy().into_owned();
                *p = PathBuf::from(super::expand_vars(&s)?);
            }
            Secret::Env(n) | Secret::Credential(n) => *n = super::expand_vars(n)?,
            Secret::Literal(v) => {
                if v.contains("${") {
                    *v = Zeroizing::new(super::expand_vars(v)?);
                }
            }
        }
        Ok(())
    }

    /// Reads the value. Errors name the reference (path, variable or credential), never a value.
    pub fn resolve(&self) -> Result<SecretValue> {
        let err = |message: String| Error::Secret {
            reference: self.to_string(),
            message,
        };
        match self {
            Secret::Literal(v) => Ok(SecretValue::new(v.as_bytes().to_vec())),
            Secret::Env(name) => std::env::var(name)
                .map(|v| SecretValue::new(v.into_bytes()))
                .map_err(|_| err("environment variable is not set (or not UTF-8)".into())),
            Secret::File(path) => read_file(path).map_err(err),
            Secret::Credential(name) => {
                let dir = std::env::var_os("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                    err("CREDENTIALS_DIRECTORY is not set: run under systemd with LoadCredential=, \
                         or use file:/path instead"
                        .into())
                })?;
                read_file(&PathBuf::from(dir).join(name)).map_err(err)
            }
        }
    }
}

fn read_file(path: &std::path::Path) -> std::result::Result<SecretValue, String> {
    let mut bytes =
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    Ok(SecretValue::new(bytes))
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::File(p) => write!(f, "file:{}", p.display()),
            Secret::Env(n) => write!(f, "env:{n}"),
            Secret::Credential(n) => write!(f, "credential:{n}"),
            Secret::Literal(_) => f.write_str("<literal value>"),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_is_never_displayed() {
        let s = Secret::from("hunter2".to_string());
        assert!(!format!("{s} {s:?}").contains("hunter2"));
        assert_eq!(s.resolve().unwrap().expose(), b"hunter2");
        assert!(!format!("{:?}", s.resolve().unwrap()).contains("hunter2"));
    }

    #[test]
    fn file_and_env_forms_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, "abc\n").unwrap();
        let s = Secret::from(format!("file:{}", p.display()));
        assert_eq!(s.resolve().unwrap().expose(), b"abc");
        std::env::set_var("DW_TEST_SECRET_X", "v");
        assert_eq!(
            Secret::from("env:DW_TEST_SECRET_X".to_string())
                .resolve()
                .unwrap()
                .expose(),
            b"v"
        );
        let missing = Secret::from("env:DW_TEST_SECRET_MISSING".to_string())
            .resolve()
            .unwrap_err();
        assert!(missing.to_string().contains("env:DW_TEST_SECRET_MISSING"));
    }

    #[test]
    fn references_expand_environment_variables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k"), "abc\n").unwrap();
        std::env::set_var("DW_TEST_SECRET_DIR", dir.path());
        let mut s = Secret::from("file:${DW_TEST_SECRET_DIR}/k".to_string());
        s.expand_vars().unwrap();
        assert_eq!(s.resolve().unwrap().expose(), b"abc");
        std::env::set_var("DW_TEST_SECRET_NAME", "DW_TEST_SECRET_X2");
        std::env::set_var("DW_TEST_SECRET_X2", "v2");
        let mut s = Secret::from("env:${DW_TEST_SECRET_NAME}".to_string());
        s.expand_vars().unwrap();
        assert_eq!(s.to_string(), "env:DW_TEST_SECRET_X2");
        let mut s = Secret::from("file:${DW_TEST_SECRET_UNSET}/k".to_string());
        let e = s.expand_vars().unwrap_err();
        assert!(e.contains("DW_TEST_SECRET_UNSET"), "{e}");
    }

    #[test]
    fn credential_reads_credentials_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pg"), "pw").unwrap();
        // Safe in tests: no other test reads CREDENTIALS_DIRECTORY concurrently.
        std::env::set_var("CREDENTIALS_DIRECTORY", dir.path());
        let s = Secret::from("credential:pg".to_string());
        assert_eq!(s.resolve().unwrap().expose(), b"pw");
    }
}
