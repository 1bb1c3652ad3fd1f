//! AES-256-GCM envelopes: `dw1:<key-id>:<base64url(nonce | ciphertext | tag)>`.
//!
//! Every value gets a fresh random 96-bit nonce; the table name, column name and key id are bound
//! as associated data, so an envelope copied into another column or relabelled with another key id
//! fails to open.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine as _;
use rand::RngCore;

use super::keys::{Key, Keyring};
use crate::error::{Error, Result};

/// The envelope prefix; a value starting with it is never encrypted again.
pub const ENVELOPE_PREFIX: &str = "dw1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// True when `value` is an envelope (already encrypted): [`crate::transformed::is_envelope`].
pub fn is_envelope(value: &str) -> bool {
    crate::transformed::is_envelope(value)
}

/// Characters of the envelope of a plaintext of `plaintext_bytes` bytes.
pub fn envelope_len(plaintext_bytes: usize) -> usize {
    let raw = NONCE_LEN + plaintext_bytes + TAG_LEN;
    ENVELOPE_PREFIX.len() + 8 + 1 + (raw * 4).div_ceil(3)
}

/// The table name without schema, as bound in the associated data.
fn bare_table(table: &str) -> &str {
    table.rsplit_once('.').map(|(_, t)| t).unwrap_or(table)
}

fn write_aad(aad: &mut Vec<u8>, table: &str, column: &str, key_id: &str) {
    aad.clear();
    aad.extend_from_slice(b"dw1\0");
    aad.extend_from_slice(bare_table(table).as_bytes());
    aad.push(0);
    aad.extend_from_slice(column.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key_id.as_bytes());
}

/// Encrypts values of one column with the active key. Reuses its buffers across values.
pub struct Sealer {
    cipher: Aes256Gcm,
    key_id: String,
    aad: Vec<u8>,
    buf: Vec<u8>,
}

impl Sealer {
    /// A sealer for `table.column` (schema prefixes of `table` are ignored).
    pub fn new(key: &Key, table: &str, column: &str) -> Sealer {
        let cipher = Aes256Gcm::new_from_slice(key.expose()).expect("32-byte key");
        let mut aad = Vec::with_capacity(64);
        write_aad(&mut aad, table, column, key.id());
        Sealer {
            cipher,
            key_id: key.id().to_string(),
            aad,
            buf: Vec::with_capacity(256),
        }
    }

    /// The id of the key that seals.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Appends the envelope of `plaintext` to `out`.
    pub fn seal_into(&mut self, plaintext: &[u8], out: &mut String) -> Result<()> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        self.buf.clear();
        self.buf.extend_from_slice(&nonce);
        self.buf.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &self.aad,
                &mut self.buf[NONCE_LEN..],
            )
            .map_err(|_| Error::Crypto("encryption failed".into()))?;
        self.buf.extend_from_slice(&tag);
        out.reserve(envelope_len(plaintext.len()));
        out.push_str(ENVELOPE_PREFIX);
        out.push_str(&self.key_id);
        out.push(':');
        B64.encode_string(&self.buf, out);
        zeroize::Zeroize::zeroize(&mut self.buf);
        Ok(())
    }

    /// The envelope of `plaintext`.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<String> {
        let mut s = String::new();
        self.seal_into(plaintext, &mut s)?;
        Ok(s)
    }
}

/// Opens envelopes of one column with any key of a keyring.
pub struct Opener<'k> {
    keys: &'k Keyring,
    table: String,
    column: String,
    aad: Vec<u8>,
}

impl<'k> Opener<'k> {
    /// An opener for `table.column`.
    pub fn new(keys: &'k Keyring, table: &str, column: &str) -> Opener<'k> {
        Opener {
            keys,
            table: table.to_string(),
            column: column.to_string(),
            aad: Vec::with_capacity(64),
        }
    }

    /// The plaintext bytes of an envelope. Fails clearly on a malformed envelope, an unknown key id
    /// or a ciphertext that does not authenticate (tampered, other column or wrong key).
    pub fn open(&mut self, envelope: &str) -> Result<Vec<u8>> {
        let envelope = envelope.trim_end_matches(['\r', '\n']);
        let rest = envelope.strip_prefix(ENVELOPE_PREFIX).ok_or_else(|| {
            Error::Crypto("not an envelope: encrypted values start with `dw1:`".into())
        })?;
        let (key_id, data) = rest.split_once(':').ok_or_else(|| {
            Error::Crypto("malformed envelope: expected dw1:<key-id>:<data>".into())
        })?;
        let key = self.keys.get(key_id).ok_or_else(|| {
            let known: Vec<&str> = self.keys.all.iter().map(|k| k.id()).collect();
            Error::Crypto(format!(
                "no key with id {key_id} in [keys] encryption/decryption (configured key ids: {}); \
                 add the key that sealed this value to [keys] decryption",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ))
        })?;
        let mut raw = B64
            .decode(data)
            .map_err(|_| Error::Crypto("malformed envelope: the data is not base64url".into()))?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(Error::Crypto("malformed envelope: too short".into()));
        }
        write_aad(&mut self.aad, &self.table, &self.column, key_id);
        let cipher = Aes256Gcm::new_from_slice(key.expose()).expect("32-byte key");
        let tag_at = raw.len() - TAG_LEN;
        let tag = *Tag::from_slice(&raw[tag_at..]);
        let nonce = *Nonce::from_slice(&raw[..NONCE_LEN]);
        cipher
            .decrypt_in_place_detached(&nonce, &self.aad, &mut raw[NONCE_LEN..tag_at], &tag)
            .map_err(|_| {
                Error::Crypto(format!(
                    "envelope does not authenticate for {}.{} with key {key_id}: the ciphertext was \
                     altered, or it belongs to another table/column",
                    bare_table(&self.table),
                    self.column
                ))
            })?;
        raw.truncate(tag_at);
        raw.drain(..NONCE_LEN);
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[&Key]) -> Keyring {
        Keyring {
            active: keys.first().map(|k| (*k).clone()),
            all: keys.iter().map(|k| (*k).clone()).collect(),
        }
    }

    #[test]
    fn round_trip_fresh_nonce_and_length() {
        let k = Key::generate();
        let mut s = Sealer::new(&k, "public.users", "mobile");
        let a = s.seal("13812345678".as_bytes()).unwrap();
        let b = s.seal("13812345678".as_bytes()).unwrap();
        assert_ne!(a, b, "fresh nonce per value");
        assert!(is_envelope(&a));
        assert!(a.starts_with(&format!("dw1:{}:", k.id())));
        assert_eq!(a.len(), envelope_len(11));
        let r = ring(&[&k]);
        let mut o = Opener::new(&r, "users", "mobile");
        assert_eq!(o.open(&a).unwrap(), b"13812345678");
        assert_eq!(o.open(&b).unwrap(), b"13812345678");
        let u = s.seal("张三".as_bytes()).unwrap();
        assert_eq!(String::from_utf8(o.open(&u).unwrap()).unwrap(), "张三");
        assert_eq!(s.seal(b"").unwrap().len(), envelope_len(0));
    }

    #[test]
    fn wrong_key_tamper_and_wrong_column_fail() {
        let k1 = Key::generate();
        let k2 = Key::generate();
        let env = Sealer::new(&k1, "users", "mobile").seal(b"secret").unwrap();
        let r2 = ring(&[&k2]);
        let e = Opener::new(&r2, "users", "mobile")
            .open(&env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no key with id") && e.contains(k1.id()), "{e}");
        let r1 = ring(&[&k2, &k1]); // rotated: k1 is a decryption key only
        assert_eq!(
            Opener::new(&r1, "users", "mobile").open(&env).unwrap(),
            b"secret"
        );
        let e = Opener::new(&r1, "users", "email")
            .open(&env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not authenticate"), "{e}");
        // flip one character of the data
        let mut chars: Vec<char> = env.chars().collect();
        let i = chars.len() - 5;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(Opener::new(&r1, "users", "mobile").open(&tampered).is_err());
        // relabel with the other key id
        let relabelled = env.replace(k1.id(), k2.id());
        assert!(Opener::new(&r1, "users", "mobile")
            .open(&relabelled)
            .is_err());
        assert!(Opener::new(&r1, "users", "mobile").open("plain").is_err());
        assert!(Opener::new(&r1, "users", "mobile").open("dw1:zz").is_err());
    }
}
