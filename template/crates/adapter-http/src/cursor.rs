//! Opaque, tamper-evident pagination cursors.
//!
//! A cursor is `base64url(json) . base64url(hmac_sha256(secret, json))`: clients cannot read
//! meaning into it, and a cursor that was edited, forged or minted by another deployment is
//! refused instead of silently paging from a wrong place. The payload is whatever the resource
//! needs (its sort key, the filters it was made for); this module only seals and opens it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a cursor was refused. Deliberately vague towards the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid here; start again from the first page")]
pub struct InvalidCursor;

/// Seals and opens cursors with one secret.
#[derive(Clone)]
pub struct CursorCodec {
    mac: HmacSha256,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorCodec").finish_non_exhaustive()
    }
}

impl CursorCodec {
    /// A codec keyed with `secret` (`http.cursor_secret`).
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        Self { mac }
    }

    /// Turns a payload into an opaque cursor.
    pub fn seal<T: Serialize>(&self, payload: &T) -> String {
        let json = serde_json::to_vec(payload).unwrap_or_default();
        let mut mac = self.mac.clone();
        mac.update(&json);
        let signature = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// Checks a cursor's signature and reads its payload.
    ///
    /// # Errors
    /// [`InvalidCursor`] when it is malformed, its signature does not match, or its payload is
    /// not a `T`.
    pub fn open<T: DeserializeOwned>(&self, cursor: &str) -> Result<T, InvalidCursor> {
        let (payload, signature) = cursor.split_once('.').ok_or(InvalidCursor)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| InvalidCursor)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| InvalidCursor)?;
        let mut mac = self.mac.clone();
        mac.update(&json);
        // Constant-time comparison: timing does not reveal how much of a forgery was right.
        mac.verify_slice(&signature).map_err(|_| InvalidCursor)?;
        serde_json::from_slice(&json).map_err(|_| InvalidCursor)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Position {
        after: String,
    }

    fn codec() -> CursorCodec {
        CursorCodec::new(b"test secret")
    }

    #[test]
    fn a_sealed_cursor_opens_to_the_same_payload() {
        let position = Position {
            after: "lamp".to_owned(),
        };
        let cursor = codec().seal(&position);
        assert!(!cursor.contains("lamp"), "opaque: {cursor}");
        assert_eq!(codec().open::<Position>(&cursor), Ok(position));
    }

    #[test]
    fn an_edited_cursor_is_refused() {
        let cursor = codec().seal(&Position {
            after: "lamp".to_owned(),
        });
        let (_, signature) = cursor.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"after":"zzz"}"#);
        let forged = format!("{forged_payload}.{signature}");
        assert_eq!(codec().open::<Position>(&forged), Err(InvalidCursor));
    }

    #[test]
    fn a_cursor_from_another_secret_or_garbage_is_refused() {
        let cursor = CursorCodec::new(b"other").seal(&Position {
            after: "a".to_owned(),
        });
        assert_eq!(codec().open::<Position>(&cursor), Err(InvalidCursor));
        assert_eq!(codec().open::<Position>("not-a-cursor"), Err(InvalidCursor));
        assert_eq!(codec().open::<Position>("e30.AAAA"), Err(InvalidCursor));
    }
}
