//! The identity provider's public keys (JWKS), fetched over HTTP and cached by `kid`.
//!
//! Keys rotate: a token signed with a key we have not seen makes us refetch the set, at most
//! once per `jwks_min_refetch_interval_ms` (an attacker can invent `kid`s for free). The whole
//! set is refetched when older than `jwks_max_age_secs`, so a key the provider withdrew stops
//! working. A fetch failure keeps the last good set; with no set at all, requests get 503.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};
use tracing::Instrument;

use super::{AuthError, AuthSettings};

/// The cached key set. Cheap to clone: clones share the cache.
#[derive(Clone)]
pub struct JwksKeys {
    url: String,
    client: reqwest::Client,
    max_age: Duration,
    min_refetch_interval: Duration,
    cache: Arc<RwLock<Cached>>,
    /// Held while fetching, so concurrent misses make one request, not one each.
    fetching: Arc<Mutex<()>>,
}

#[derive(Default)]
struct Cached {
    keys: HashMap<String, (Arc<DecodingKey>, Option<Algorithm>)>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

impl JwksKeys {
    /// A key source for `settings.jwks_url`. Nothing is fetched until the first token.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.jwks_timeout_ms))
            .build()?;
        Ok(Self {
            url: settings.jwks_url.clone(),
            client,
            max_age: Duration::from_secs(settings.jwks_max_age_secs),
            min_refetch_interval: Duration::from_millis(settings.jwks_min_refetch_interval_ms),
            cache: Arc::default(),
            fetching: Arc::default(),
        })
    }

    /// The key for `kid`, fetching the set when it is unknown or stale. The key's own `alg`,
    /// when it declares one, must match the token's.
    ///
    /// # Errors
    /// [`AuthError::UnknownKey`], [`AuthError::AlgorithmRejected`], or
    /// [`AuthError::KeysUnavailable`] when no key set could ever be fetched.
    pub async fn key(
        &self,
        kid: &str,
        algorithm: Algorithm,
    ) -> Result<Arc<DecodingKey>, AuthError> {
        if let Some(found) = self.cached(kid, false).await {
            return check(found, algorithm);
        }
        let fetching = Arc::clone(&self.fetching).lock_owned().await;
        // Another request may have refreshed the set while this one waited.
        if let Some(found) = self.cached(kid, false).await {
            return check(found, algorithm);
        }
        if self.may_fetch().await {
            // The fetch runs in a task of its own, holding the lock: a request cancelled while
            // it waits must not abandon the fetch half-way (marked as attempted, no keys), which
            // would refuse every token until the next refetch is allowed.
            let keys = self.clone();
            let fetch = async move {
                keys.fetch().await;
                drop(fetching);
            };
            let _ = tokio::spawn(fetch.instrument(tracing::Span::current())).await;
        }
        match self.cached(kid, true).await {
            Some(found) => check(found, algorithm),
            None if self.cache.read().await.fetched_at.is_none() => Err(AuthError::KeysUnavailable),
            None => Err(AuthError::UnknownKey),
        }
    }

    /// The key when cached and (unless `stale_ok`) the set is fresh.
    async fn cached(
        &self,
        kid: &str,
        stale_ok: bool,
    ) -> Option<(Arc<DecodingKey>, Option<Algorithm>)> {
        let cache = self.cache.read().await;
        let fresh = cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.max_age);
        if !fresh && !stale_ok {
            return None;
        }
        cache.keys.get(kid).cloned()
    }

    async fn may_fetch(&self) -> bool {
        let cache = self.cache.read().await;
        cache
            .attempted_at
            .is_none_or(|at| at.elapsed() >= self.min_refetch_interval)
    }

    async fn fetch(&self) {
        self.cache.write().await.attempted_at = Some(Instant::now());
        let fetched = async {
            self.client
                .get(&self.url)
                .send()
                .await?
                .error_for_status()?
                .json::<JwkSet>()
                .await
        }
        .await;
        let set = match fetched {
            Ok(set) => set,
            Err(error) => {
                tracing::warn!(url = %self.url, error = %error, "cannot fetch the JWKS; keeping the keys we have");
                return;
            }
        };
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    let algorithm = jwk
                        .common
                        .key_algorithm
                        .and_then(|algorithm| algorithm.to_string().parse().ok());
                    keys.insert(kid, (Arc::new(key), algorithm));
                }
                Err(error) => tracing::warn!(%kid, %error, "skipping a JWKS key we cannot use"),
            }
        }
        tracing::info!(keys = keys.len(), "fetched the JWKS");
        let mut cache = self.cache.write().await;
        cache.keys = keys;
        cache.fetched_at = Some(Instant::now());
    }
}

fn check(
    (key, declared): (Arc<DecodingKey>, Option<Algorithm>),
    algorithm: Algorithm,
) -> Result<Arc<DecodingKey>, AuthError> {
    match declared {
        Some(declared) if declared != algorithm => Err(AuthError::AlgorithmRejected),
        _ => Ok(key),
    }
}
