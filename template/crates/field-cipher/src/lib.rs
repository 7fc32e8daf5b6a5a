//! Encryption at rest for sensitive columns: AES-256-GCM with a key ring from configuration.
//!
//! Why a crate of its own: encryption is a storage concern, and every storage adapter needs the
//! same one. The domain hands over plain values and gets them back; only the storage adapters
//! (and so only the database's contents, backups and replicas) see ciphertext. Each value is stored beside the id of the key that sealed it, so keys rotate
//! without a flag day: new writes use the first key of `database.encryption_keys`, old rows
//! stay readable while their key is still listed. The row's identity is bound in as associated
//! data, so a ciphertext copied into another row (or tenant) does not decrypt.
//!
//! What it must not do: put plaintext or key bytes in errors or logs, or reuse a nonce. Each
//! seal draws a fresh random 96-bit nonce, which NIST SP 800-38D allows for up to 2^32 seals
//! per key; rotate keys long before that.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use anyhow::{Context, bail};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use uuid::Uuid;

/// A value sealed for storage: the bytes (nonce, then ciphertext and tag) and the key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `nonce || ciphertext || tag`.
    pub bytes: Vec<u8>,
    /// Which key of the ring sealed it.
    pub key_id: String,
}

/// The key ring. Cheap to clone.
#[derive(Clone)]
pub struct FieldCipher {
    active: String,
    keys: Arc<HashMap<String, LessSafeKey>>,
}

impl fmt::Debug for FieldCipher {
    /// Names the keys, never their bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("FieldCipher")
            .field("active", &self.active)
            .field("keys", &ids)
            .finish()
    }
}

impl FieldCipher {
    /// Parses `id:base64key[,id:base64key...]`; the first key seals, all of them open. Each key
    /// is 32 random bytes (`openssl rand -base64 32`).
    ///
    /// # Errors
    /// When the list is empty, an id repeats, or a key is not 32 bytes of base64. The message
    /// names the key id, never the key.
    pub fn from_config(ring: &str) -> anyhow::Result<Self> {
        let mut keys = HashMap::new();
        let mut active = None;
        for entry in ring
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let Some((id, encoded)) = entry.split_once(':') else {
                bail!("database.encryption_keys: each entry is id:base64key");
            };
            let id = id.trim();
            if id.is_empty() {
                bail!("database.encryption_keys: a key has an empty id");
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .filter(|bytes| bytes.len() == 32)
                .with_context(|| {
                    format!("database.encryption_keys: key {id:?} is not 32 bytes of base64")
                })?;
            let key = UnboundKey::new(&AES_256_GCM, &bytes)
                .map_err(|_| anyhow::anyhow!("database.encryption_keys: key {id:?} is unusable"))?;
            if keys.insert(id.to_owned(), LessSafeKey::new(key)).is_some() {
                bail!("database.encryption_keys: key id {id:?} appears twice");
            }
            active.get_or_insert_with(|| id.to_owned());
        }
        let active = active.context("database.encryption_keys: at least one key is needed")?;
        Ok(Self {
            active,
            keys: Arc::new(keys),
        })
    }

    /// The id of the key new values are sealed with.
    #[must_use]
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Seals `plaintext`, bound to `context` (the row's identity).
    ///
    /// # Errors
    /// When the system's random source or the cipher fails.
    pub fn seal(&self, plaintext: &str, context: &[u8]) -> anyhow::Result<Sealed> {
        let key = self
            .keys
            .get(&self.active)
            .context("the active encryption key is missing")?;
        let mut nonce = [0_u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let mut in_out = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context),
            &mut in_out,
        )
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&in_out);
        Ok(Sealed {
            bytes,
            key_id: self.active.clone(),
        })
    }

    /// Opens what [`seal`](Self::seal) produced with the same `context`.
    ///
    /// # Errors
    /// When the key id is not in the ring (retired too early), or the bytes were altered or
    /// belong to another row.
    pub fn open(&self, sealed: &[u8], key_id: &str, context: &[u8]) -> anyhow::Result<String> {
        let key = self.keys.get(key_id).with_context(|| {
            format!("encryption key {key_id:?} is not in database.encryption_keys")
        })?;
        if sealed.len() < NONCE_LEN {
            bail!("a sealed value is too short");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| anyhow::anyhow!("a sealed value has a bad nonce"))?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = key
            .open_in_place(nonce, Aad::from(context), &mut in_out)
            .map_err(|_| {
                anyhow::anyhow!("a sealed value does not authenticate (key {key_id:?})")
            })?;
        String::from_utf8(plaintext.to_vec()).context("a sealed value is not UTF-8")
    }

    /// Seals a column of the row `id` owned by `owner` (a tenant): the pair is the associated
    /// data, so the value does not open in any other row or tenant.
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    pub fn seal_for_row(&self, plaintext: &str, owner: Uuid, id: Uuid) -> anyhow::Result<Sealed> {
        self.seal(plaintext, &row_context(owner, id))
    }

    /// Opens what [`seal_for_row`](Self::seal_for_row) sealed for the same row.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_for_row(
        &self,
        sealed: &[u8],
        key_id: &str,
        owner: Uuid,
        id: Uuid,
    ) -> anyhow::Result<String> {
        self.open(sealed, key_id, &row_context(owner, id))
    }
}

/// What binds a sealed value to its row: the owner's id, then the row's id.
fn row_context(owner: Uuid, id: Uuid) -> [u8; 32] {
    let mut context = [0_u8; 32];
    context[..16].copy_from_slice(owner.as_bytes());
    context[16..].copy_from_slice(id.as_bytes());
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "k2:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

    #[test]
    fn sealed_values_open_and_hide_the_plaintext() {
        let cipher = FieldCipher::from_config(K1).unwrap();
        let sealed = cipher.seal("the secret plans", b"row-1").unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(
            !sealed.bytes.windows(6).any(|window| window == b"secret"),
            "no plaintext in the sealed bytes"
        );
        assert_eq!(
            cipher.open(&sealed.bytes, "k1", b"row-1").unwrap(),
            "the secret plans"
        );
        // Two seals of one value differ: fresh nonces.
        assert_ne!(
            cipher.seal("the secret plans", b"row-1").unwrap().bytes,
            sealed.bytes
        );
    }

    #[test]
    fn a_value_moved_to_another_row_or_altered_does_not_open() {
        let cipher = FieldCipher::from_config(K1).unwrap();
        let sealed = cipher.seal("the secret plans", b"row-1").unwrap();
        assert!(cipher.open(&sealed.bytes, "k1", b"row-2").is_err());
        let mut altered = sealed.bytes.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(cipher.open(&altered, "k1", b"row-1").is_err());
    }

    #[test]
    fn after_rotation_new_values_use_the_new_key_and_old_ones_still_open() {
        let before = FieldCipher::from_config(K1).unwrap();
        let old = before.seal("written last year", b"row-1").unwrap();
        let after = FieldCipher::from_config(&format!("{K2},{K1}")).unwrap();
        assert_eq!(after.seal("new", b"row-2").unwrap().key_id, "k2");
        assert_eq!(
            after.open(&old.bytes, &old.key_id, b"row-1").unwrap(),
            "written last year"
        );
        // Retiring k1 before re-encrypting its rows makes them unreadable, loudly.
        let retired = FieldCipher::from_config(K2).unwrap();
        let error = retired.open(&old.bytes, "k1", b"row-1").unwrap_err();
        assert!(error.to_string().contains("\"k1\""), "{error}");
    }

    #[test]
    fn a_row_sealed_value_opens_for_that_row_of_that_owner_only() {
        let cipher = FieldCipher::from_config(K1).unwrap();
        let (owner, row, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let sealed = cipher.seal_for_row("private", owner, row).unwrap();
        let open = |owner, row| cipher.open_for_row(&sealed.bytes, &sealed.key_id, owner, row);
        assert_eq!(open(owner, row).unwrap(), "private");
        assert!(open(other, row).is_err(), "another tenant");
        assert!(open(owner, other).is_err(), "another row");
        // Owner and row are not interchangeable either.
        assert!(open(row, owner).is_err(), "swapped");
    }

    #[test]
    fn bad_rings_are_refused_without_echoing_the_key() {
        for ring in ["", "k1", "k1:c2hvcnQ=", &format!("{K1},{K1}")] {
            let error = FieldCipher::from_config(ring).unwrap_err().to_string();
            assert!(error.contains("database.encryption_keys"), "{error}");
            assert!(!error.contains("c2hvcnQ"), "{error}");
        }
    }
}
