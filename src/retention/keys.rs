//! Key material: parsing `[keys]` entries (base64, 64 hex digits or raw 32 bytes), key ids, the
//! keyring of one active key plus older decryption keys, and new key files (`keys generate`).

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::config::{KeysConfig, Secret};
use crate::error::{Error, Result};

/// A 32-byte key (AES-256 or HMAC-SHA-256), zeroed on drop.
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    /// Wraps 32 raw bytes and derives the key id.
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        let id = key_id(&bytes);
        Key {
            bytes: Zeroizing::new(bytes),
            id,
        }
    }

    /// Parses key text: base64 (standard or URL-safe, padded or not) of 32 bytes, 64 hex digits,
    /// or exactly 32 raw bytes. Surrounding whitespace is ignored for the text forms.
    pub fn parse(raw: &[u8]) -> std::result::Result<Key, String> {
        let text = std::str::from_utf8(raw).ok().map(str::trim);
        if let Some(t) = text {
            if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                let mut out = [0u8; 32];
                for (i, chunk) in t.as_bytes().chunks(2).enumerate() {
                    let s = std::str::from_utf8(chunk).map_err(|_| "not hex".to_string())?;
                    out[i] = u8::from_str_radix(s, 16).map_err(|_| "not hex".to_string())?;
                }
                return Ok(Key::from_bytes(out));
            }
            let engines = [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                &base64::engine::general_purpose::URL_SAFE,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            for e in engines {
                if let Ok(v) = e.decode(t) {
                    let v = Zeroizing::new(v);
                    if let Ok(arr) = <[u8; 32]>::try_from(v.as_slice()) {
                        return Ok(Key::from_bytes(arr));
                    }
                }
            }
        }
        if let Ok(arr) = <[u8; 32]>::try_from(raw) {
            return Ok(Key::from_bytes(arr));
        }
        Err(
            "is not a 32-byte key: write base64 of 32 bytes (as the `keys generate` command does), \
             64 hex digits, or 32 raw bytes"
                .into(),
        )
    }

    /// Resolves a `[keys]` secret and parses it. Errors name the reference, never the value.
    pub fn from_secret(secret: &Secret) -> Result<Key> {
        let value = secret.resolve().map_err(|e| match (secret, e) {
            (Secret::File(path), Error::Secret { reference, message }) if !path.exists() => {
                Error::Secret {
                    reference,
                    message: format!(
                        "{message}; make a key with `datawarden keys generate --output {}`",
                        crate::shell::quote_path(path)
                    ),
                }
            }
            (_, e) => e,
        })?;
        Key::parse(value.expose()).map_err(|message| Error::Secret {
            reference: secret.to_string(),
            message,
        })
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Key {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let k = Key::from_bytes(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        k
    }

    /// The key id: the first 8 hex digits of HMAC-SHA-256(key, "datawarden key id").
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The raw bytes.
    pub fn expose(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key as standard base64 text (the key file format).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.bytes.as_slice()))
    }
}

/// First 8 hex digits of HMAC-SHA-256(key, "datawarden key id"): names a key without revealing it.
pub fn key_id(key: &[u8; 32]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"datawarden key id");
    let tag = mac.finalize().into_bytes();
    tag[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The encryption keys of a config: the active key (encrypts) and every key accepted to decrypt.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    /// The key new envelopes are sealed with.
    pub active: Option<Key>,
    /// All keys that may open envelopes (active first), looked up by id.
    pub all: Vec<Key>,
}

impl Keyring {
    /// Loads `[keys] encryption` and `[keys] decryption`.
    pub fn load(keys: &KeysConfig) -> Result<Keyring> {
        let active = keys.encryption.as_ref().map(Key::from_secret).transpose()?;
        let mut all: Vec<Key> = active.iter().cloned().collect();
        for s in &keys.decryption {
            let k = Key::from_secret(s)?;
            if !all.iter().any(|a| a.id() == k.id()) {
                all.push(k);
            }
        }
        Ok(Keyring { active, all })
    }

    /// The key with id `id`.
    pub fn get(&self, id: &str) -> Option<&Key> {
        self.all.iter().find(|k| k.id() == id)
    }
}

/// Loads the `[keys] pseudonym` key.
pub fn pseudonym_key(keys: &KeysConfig) -> Result<Option<Key>> {
    keys.pseudonym.as_ref().map(Key::from_secret).transpose()
}

/// Loads every `[keys]` entry once, proving each readable and exactly 32 bytes (offline
/// `check-config`); returns `(entry, key id)` pairs. Errors name the entry and the reference,
/// never a value.
pub fn check_keys(keys: &KeysConfig) -> Result<Vec<(String, String)>> {
    let entries = keys
        .encryption
        .iter()
        .map(|s| ("keys.encryption".to_string(), s))
        .chain(
            keys.decryption
                .iter()
                .enumerate()
                .map(|(j, s)| (format!("keys.decryption[{j}]"), s)),
        )
        .chain(
            keys.pseudonym
                .iter()
                .map(|s| ("keys.pseudonym".to_string(), s)),
        );
    let mut out = Vec::new();
    for (entry, secret) in entries {
        let key = Key::from_secret(secret).map_err(|e| Error::Other(format!("{entry}: {e}")))?;
        out.push((entry, key.id().to_string()));
    }
    Ok(out)
}

/// Writes a new random key as base64 text to `path` with mode 0600; refuses to overwrite.
/// Returns the key id.
pub fn generate_key_file(path: &Path) -> Result<String> {
    let key = Key::generate();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Other(format!(
                "{} already exists; refusing to overwrite a key (choose another --output path)",
                path.display()
            ))
        } else {
            Error::io(path, e)
        }
    })?;
    let text = key.to_base64();
    f.write_all(text.as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(path, e))?;
    Ok(key.id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms_to_the_same_key() {
        let k = Key::generate();
        let hex: String = k.expose().iter().map(|b| format!("{b:02x}")).collect();
        let b64 = k.to_base64();
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.expose());
        for form in [
            hex.as_bytes(),
            b64.as_bytes(),
            url.as_bytes(),
            k.expose().as_slice(),
        ] {
            assert_eq!(Key::parse(form).unwrap().id(), k.id());
        }
        assert_eq!(
            Key::parse(format!("{}\n", b64.as_str()).as_bytes())
                .unwrap()
                .id(),
            k.id()
        );
        assert_eq!(k.id().len(), 8);
        assert!(Key::parse(b"short").is_err());
        assert!(Key::parse(&[0u8; 31]).is_err());
    }

    #[test]
    fn check_keys_refuses_empty_short_and_garbage_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        let id = generate_key_file(&good).unwrap();
        let cases: [(&str, &[u8]); 4] = [
            ("empty", b""),
            ("short", &[7u8; 16]),
            ("garbage", b"not a key at all, just some words\n"),
            ("b64short", b"AAAAAAAAAAAAAAAAAAAAAA==\n"),
        ];
        for (name, bytes) in cases {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let keys = KeysConfig {
                encryption: Some(Secret::from(format!("file:{}", good.display()))),
                decryption: vec![],
                pseudonym: Some(Secret::from(format!("file:{}", p.display()))),
            };
            let e = check_keys(&keys).unwrap_err().to_string();
            assert!(
                e.starts_with("keys.pseudonym: ") && e.contains("is not a 32-byte key"),
                "{name}: {e}"
            );
            assert!(e.contains(&p.display().to_string()), "{e}");
        }
        let keys = KeysConfig {
            encryption: Some(Secret::from(format!("file:{}", good.display()))),
            ..KeysConfig::default()
        };
        assert_eq!(
            check_keys(&keys).unwrap(),
            vec![("keys.encryption".to_string(), id)]
        );
    }

    #[test]
    fn key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let id = generate_key_file(&p).unwrap();
        let k = Key::parse(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(k.id(), id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let before = std::fs::read(&p).unwrap();
        assert!(generate_key_file(&p)
            .unwrap_err()
            .to_string()
            .contains("refusing to overwrite"));
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }
}
