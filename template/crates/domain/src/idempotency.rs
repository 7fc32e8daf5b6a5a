//! Idempotency keys: what makes retrying a create safe for any resource. A client sends the
//! same `Idempotency-Key` again after a timeout and gets the first result instead of a second
//! record. The repository stores the key with the record, in the same transaction; this module
//! only says what a valid key is. It must not know any one resource.

/// The key is empty, too long or not visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to 255 visible ASCII characters")]
pub struct InvalidIdempotencyKey;

/// A key that makes retrying a create safe: the same key returns the first result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a client-chosen key.
    ///
    /// # Errors
    /// [`InvalidIdempotencyKey`] unless it is 1 to 255 visible ASCII characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidIdempotencyKey> {
        let valid = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    /// The key as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An idempotent create: the key, and a fingerprint of the request so that reusing a key for a
/// different request is refused instead of answered with the wrong record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The client's key.
    pub key: IdempotencyKey,
    /// A digest of the request body.
    pub fingerprint: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert!(IdempotencyKey::parse("retry-42").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("with space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
