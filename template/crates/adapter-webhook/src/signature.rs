//! Signed webhooks, as the Standard Webhooks specification defines them
//! (<https://www.standardwebhooks.com>): each attempt carries `webhook-id`, `webhook-timestamp`
//! and `webhook-signature`, the last being `v1,` + base64 HMAC-SHA256 over
//! `id.timestamp.body` with a shared secret written `whsec_<base64>`. A receiver that checks
//! the signature knows the body came from a holder of the secret and was not changed; checking
//! the timestamp and remembering ids stops an old delivery from being replayed.
//!
//! Rotation without downtime: the sender signs with every configured key (the header lists
//! the signatures, space-separated), so during an overlap a receiver holding either the old or
//! the new key accepts; once every receiver has the new key, the old one is removed.
//!
//! [`Verifier`] is the receiving side, for the services that get these webhooks and for the
//! tests. This module must not know where a webhook goes or how it is retried (`delivery.rs`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix that marks a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The signature scheme this module writes and reads: symmetric, HMAC-SHA256.
const SCHEME: &str = "v1";

/// The headers of a signed delivery. The message's id: the same on every attempt, without dots.
pub const ID_HEADER: &str = "webhook-id";
/// Seconds since the Unix epoch, of the attempt (not of the event: a retry is signed anew).
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Space-separated `v1,<base64>` signatures, one per signing key.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// How far a delivery's timestamp may be from the receiver's clock, either way: the
/// specification's suggested tolerance.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A key shared with receivers. Never printed: `Debug` shows `***`.
#[derive(Clone)]
pub struct SigningKey {
    bytes: Vec<u8>,
}

/// Why a configured secret is not a signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKey(String);

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidKey {}

impl SigningKey {
    /// Reads a secret written `whsec_<base64>` (padded or not), as the specification
    /// serialises it. The decoded key must be 24 to 64 bytes long.
    ///
    /// # Errors
    /// [`InvalidKey`] naming what is wrong, never the secret itself.
    pub fn parse(secret: &str) -> Result<Self, InvalidKey> {
        let encoded = secret
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| InvalidKey(format!("a signing secret starts with `{SECRET_PREFIX}`")))?;
        let bytes = STANDARD
            .decode(encoded)
            .or_else(|_| STANDARD_NO_PAD.decode(encoded))
            .map_err(|_| {
                InvalidKey(format!(
                    "a signing secret is base64 after `{SECRET_PREFIX}`"
                ))
            })?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(InvalidKey(format!(
                "a signing secret holds 24 to 64 bytes (this one: {})",
                bytes.len()
            )));
        }
        Ok(Self { bytes })
    }

    /// The base64 signature of `id.timestamp.body`.
    fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        STANDARD.encode(self.mac(id, timestamp, body).finalize().into_bytes())
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        // HMAC takes a key of any length; 24 to 64 bytes were checked when it was parsed.
        let mut mac = HmacSha256::new_from_slice(&self.bytes).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// Whether `signature` (base64) is this key's signature of `id.timestamp.body`, compared
    /// in constant time.
    fn signed(&self, signature: &str, id: &str, timestamp: i64, body: &[u8]) -> bool {
        let Ok(signature) = STANDARD.decode(signature) else {
            return false;
        };
        self.mac(id, timestamp, body)
            .verify_slice(&signature)
            .is_ok()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The `webhook-signature` value for `body`, sent as `id` at `timestamp`: one `v1,` signature
/// per key, space-separated, in the keys' order.
#[must_use]
pub fn signature_header(keys: &[SigningKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| format!("{SCHEME},{}", key.sign(id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A `webhook-*` header is absent or not text.
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a whole number of seconds.
    BadTimestamp,
    /// The timestamp is further from the receiver's clock than the tolerance: an old delivery
    /// replayed, or a clock far off.
    OutsideTolerance,
    /// No signature in the header is one of the receiver's keys' signature of this body.
    NoValidSignature,
    /// This `webhook-id` was already accepted within the tolerance.
    Replayed,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingHeader(name) => write!(f, "no {name} header"),
            Self::BadTimestamp => f.write_str("webhook-timestamp is not a number of seconds"),
            Self::OutsideTolerance => f.write_str("webhook-timestamp is outside the tolerance"),
            Self::NoValidSignature => f.write_str("no valid signature"),
            Self::Replayed => f.write_str("this webhook-id was already received"),
        }
    }
}

impl std::error::Error for Refused {}

/// The receiving side: checks the signature with any of its keys and the timestamp against
/// its clock, and refuses an id it has already handled. One per receiver; share it.
///
/// A receiver calls [`Verifier::verify`], acts on the delivery, and only then
/// [`Verifier::handled`]: a delivery it failed to act on (and answered with an error) comes
/// again with the same id, and must pass. A [`Refused::Replayed`] delivery was handled
/// already: answer it 2xx without acting again.
#[derive(Debug)]
pub struct Verifier {
    keys: Vec<SigningKey>,
    tolerance: Duration,
    /// Handled ids and their timestamps; an entry older than the tolerance is forgotten, as its
    /// delivery would be refused on its timestamp anyway.
    handled: Mutex<HashMap<String, i64>>,
}

/// A delivery whose headers, timestamp and signature are good, and whose id this verifier has
/// not handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `webhook-id`: the event's id, the same on every attempt.
    pub id: String,
    /// `webhook-timestamp`: when this attempt was sent.
    pub timestamp: i64,
}

impl Verifier {
    /// A verifier accepting a signature by any of `keys`.
    #[must_use]
    pub fn new(keys: Vec<SigningKey>, tolerance: Duration) -> Self {
        Self {
            keys,
            tolerance,
            handled: Mutex::new(HashMap::new()),
        }
    }

    /// Checks a delivery received at `now` (seconds since the Unix epoch).
    ///
    /// # Errors
    /// [`Refused`], checked in this order: headers, timestamp, signature, replay. A forgery is
    /// refused before its id is looked at, so it cannot tell which ids were handled.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Verified, Refused> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .ok_or(Refused::MissingHeader(name))
        };
        let id = header(ID_HEADER)?;
        let timestamp: i64 = header(TIMESTAMP_HEADER)?
            .parse()
            .map_err(|_| Refused::BadTimestamp)?;
        let signatures = header(SIGNATURE_HEADER)?;
        if now.abs_diff(timestamp) > self.tolerance.as_secs() {
            return Err(Refused::OutsideTolerance);
        }
        let signed = signatures
            .split(' ')
            .filter_map(|entry| entry.split_once(','))
            .filter(|(scheme, _)| *scheme == SCHEME)
            .any(|(_, signature)| {
                self.keys
                    .iter()
                    .any(|key| key.signed(signature, id, timestamp, body))
            });
        if !signed {
            return Err(Refused::NoValidSignature);
        }
        if self.handled_ids().contains_key(id) {
            return Err(Refused::Replayed);
        }
        Ok(Verified {
            id: id.to_owned(),
            timestamp,
        })
    }

    /// Remembers `delivery` as handled: its id is [`Refused::Replayed`] from now on, for as
    /// long as its timestamp is within the tolerance.
    pub fn handled(&self, delivery: Verified) {
        let mut handled = self.handled_ids();
        let tolerance = self.tolerance.as_secs();
        handled.retain(|_, at| delivery.timestamp.abs_diff(*at) <= tolerance);
        handled.insert(delivery.id, delivery.timestamp);
    }

    fn handled_ids(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        // The map stays consistent whatever panicked while holding it: inserts are whole.
        self.handled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vendored from the reference libraries' tests (github.com/standard-webhooks/
    // standard-webhooks, MIT: libraries/javascript/src/webhook.test.ts "sign function works",
    // libraries/go/webhook_test.go TestWebhookSign): a secret, a message and its signature.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TIMESTAMP: i64 = 1_614_265_330;
    const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    /// The same signature with its last character changed (`test_invalid_signature_raises_error`).
    const VECTOR_WRONG_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";

    fn vector_key() -> SigningKey {
        SigningKey::parse(VECTOR_SECRET).unwrap()
    }

    fn headers(id: &str, timestamp: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ID_HEADER, id.parse().unwrap());
        headers.insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers
    }

    fn vector_headers(signature: &str) -> HeaderMap {
        headers(VECTOR_ID, &VECTOR_TIMESTAMP.to_string(), signature)
    }

    #[test]
    fn signing_the_published_message_gives_the_published_signature() {
        let header = signature_header(
            &[vector_key()],
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY.as_bytes(),
        );
        assert_eq!(header, VECTOR_SIGNATURE);
    }

    #[test]
    fn the_published_signature_verifies_and_a_changed_one_does_not() {
        let verifier = Verifier::new(vec![vector_key()], DEFAULT_TOLERANCE);
        assert_eq!(
            verifier.verify(
                &vector_headers(VECTOR_WRONG_SIGNATURE),
                VECTOR_BODY.as_bytes(),
                VECTOR_TIMESTAMP
            ),
            Err(Refused::NoValidSignature)
        );
        let verified = verifier
            .verify(
                &vector_headers(VECTOR_SIGNATURE),
                VECTOR_BODY.as_bytes(),
                VECTOR_TIMESTAMP,
            )
            .unwrap();
        assert_eq!(verified.id, VECTOR_ID);
        assert_eq!(verified.timestamp, VECTOR_TIMESTAMP);
    }

    #[test]
    fn a_changed_body_or_id_is_refused() {
        let verifier = Verifier::new(vec![vector_key()], DEFAULT_TOLERANCE);
        let changed_body = br#"{"test": 2432232315}"#;
        assert_eq!(
            verifier.verify(
                &vector_headers(VECTOR_SIGNATURE),
                changed_body,
                VECTOR_TIMESTAMP
            ),
            Err(Refused::NoValidSignature)
        );
        let other_id = headers("msg_other", &VECTOR_TIMESTAMP.to_string(), VECTOR_SIGNATURE);
        assert_eq!(
            verifier.verify(&other_id, VECTOR_BODY.as_bytes(), VECTOR_TIMESTAMP),
            Err(Refused::NoValidSignature)
        );
    }

    #[test]
    fn a_header_list_verifies_when_any_entry_matches() {
        // `test_multi_sig_payload_is_valid`: unknown schemes and wrong signatures around the
        // right one.
        let verifier = Verifier::new(vec![vector_key()], DEFAULT_TOLERANCE);
        let listed = format!(
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,{} {VECTOR_SIGNATURE} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            &VECTOR_SIGNATURE[3..]
        );
        assert!(
            verifier
                .verify(
                    &vector_headers(&listed),
                    VECTOR_BODY.as_bytes(),
                    VECTOR_TIMESTAMP
                )
                .is_ok()
        );
    }

    #[test]
    fn a_timestamp_outside_the_tolerance_either_way_is_refused() {
        let verifier = Verifier::new(vec![vector_key()], DEFAULT_TOLERANCE);
        let body = VECTOR_BODY.as_bytes();
        let tolerance = 5 * 60;
        let headers = vector_headers(VECTOR_SIGNATURE);
        for now in [
            VECTOR_TIMESTAMP + tolerance + 1,
            VECTOR_TIMESTAMP - tolerance - 1,
        ] {
            assert_eq!(
                verifier.verify(&headers, body, now),
                Err(Refused::OutsideTolerance)
            );
        }
        assert!(
            verifier
                .verify(&headers, body, VECTOR_TIMESTAMP + tolerance)
                .is_ok()
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_refused_by_name() {
        let verifier = Verifier::new(vec![vector_key()], DEFAULT_TOLERANCE);
        let body = VECTOR_BODY.as_bytes();
        for name in [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER] {
            let mut headers = vector_headers(VECTOR_SIGNATURE);
            headers.remove(name);
            assert_eq!(
                verifier.verify(&headers, body, VECTOR_TIMESTAMP),
                Err(Refused::MissingHeader(name))
            );
        }
        let bad = headers(VECTOR_ID, "hello", VECTOR_SIGNATURE);
        assert_eq!(
            verifier.verify(&bad, body, VECTOR_TIMESTAMP),
            Err(Refused::BadTimestamp)
        );
    }

    #[test]
    fn an_id_passes_until_it_is_handled_and_is_then_a_replay() {
        let verifier = Verifier::new(vec![vector_key()], DEFAULT_TOLERANCE);
        let body = VECTOR_BODY.as_bytes();
        let good = vector_headers(VECTOR_SIGNATURE);
        // Verified but not handled (the receiver failed and answered 500): the retry passes.
        verifier.verify(&good, body, VECTOR_TIMESTAMP).unwrap();
        let retried = verifier.verify(&good, body, VECTOR_TIMESTAMP + 1).unwrap();
        verifier.handled(retried);
        assert_eq!(
            verifier.verify(&good, body, VECTOR_TIMESTAMP + 2),
            Err(Refused::Replayed)
        );
        // A forgery of a handled id is refused for its signature: it learns nothing.
        assert_eq!(
            verifier.verify(
                &vector_headers(VECTOR_WRONG_SIGNATURE),
                body,
                VECTOR_TIMESTAMP
            ),
            Err(Refused::NoValidSignature)
        );
    }

    #[test]
    fn secrets_need_the_prefix_base64_and_a_sound_length_and_never_print() {
        assert!(SigningKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(SigningKey::parse("whsec_not base64!").is_err());
        assert!(SigningKey::parse("whsec_c2hvcnQ=").is_err(), "5 bytes");
        // Unpadded base64 is accepted, as the reference libraries do.
        let unpadded = STANDARD_NO_PAD.encode([7_u8; 32]);
        assert!(SigningKey::parse(&format!("{SECRET_PREFIX}{unpadded}")).is_ok());
        let error = SigningKey::parse("whsec_c2hvcnQ=").unwrap_err();
        assert!(!error.to_string().contains("c2hvcnQ"), "{error}");
        assert_eq!(format!("{:?}", vector_key()), "***");
    }
}
