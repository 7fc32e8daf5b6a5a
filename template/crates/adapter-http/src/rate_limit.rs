//! Rate limiting with governor's GCRA: per principal when the request is authenticated, per
//! client IP otherwise, so one tenant's batch job cannot starve the others and an anonymous
//! client cannot brute-force tokens.
//!
//! Limits are per process: with N replicas a client gets up to N times the limit. That is the
//! usual trade (no shared store on the hot path); put a shared limit in the gateway if the
//! exact figure matters. This module decides, it does not render: `access.rs` answers 429.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use serde::Deserialize;

/// The `[rate_limit]` section of the configuration.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Off: no limits (a gateway does it).
    pub enabled: bool,
    /// Sustained requests per second for one authenticated principal (tenant + subject).
    pub per_principal_per_second: u32,
    /// Requests one principal may send at once before the sustained rate applies.
    pub per_principal_burst: u32,
    /// Sustained requests per second from one client IP without a valid token.
    pub per_ip_per_second: u32,
    /// Burst for one client IP.
    pub per_ip_burst: u32,
    /// Proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed. From anyone else the header
    /// is ignored: a client could otherwise pick its own IP and escape its limit.
    pub trusted_proxies: Vec<IpNet>,
}

impl RateLimitSettings {
    /// Checks the settings as loaded.
    ///
    /// # Errors
    /// A message naming the setting when a rate or burst is 0 (which would refuse everything).
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            self.per_principal_per_second,
            self.per_principal_burst,
            self.per_ip_per_second,
            self.per_ip_burst,
        ];
        if rates.contains(&0) {
            return Err("rate_limit: every rate and burst must be at least 1".to_owned());
        }
        Ok(())
    }
}

type KeyedLimiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The outcome of one check, with what the `RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The burst size of the policy that applied.
    pub limit: u32,
    /// Requests left right now.
    pub remaining: u32,
    /// Seconds until the client may send again (denied) or the bucket is full (allowed).
    pub reset_secs: u64,
}

impl Decision {
    /// Writes `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and, when denied,
    /// `Retry-After`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("ratelimit-limit", self.limit.into()),
            ("ratelimit-remaining", self.remaining.into()),
            ("ratelimit-reset", self.reset_secs),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
        if !self.allowed {
            headers.insert("retry-after", HeaderValue::from(self.reset_secs.max(1)));
        }
    }
}

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An authenticated principal: `tenant/subject`.
    Principal(String),
    /// An anonymous client, by IP (`None` when the peer address is unknown, as in tests that
    /// call the router directly).
    Address(Option<IpAddr>),
}

impl Caller {
    /// The budget of an authenticated principal: its tenant and subject.
    #[must_use]
    pub fn of(principal: &domain::auth::Principal) -> Self {
        Self::Principal(format!("{}/{}", principal.tenant(), principal.subject()))
    }
}

/// The two limiters. Cheap to clone.
#[derive(Clone)]
pub struct RateLimits {
    settings: Arc<RateLimitSettings>,
    principals: Arc<KeyedLimiter>,
    addresses: Arc<KeyedLimiter>,
    clock: DefaultClock,
}

impl RateLimits {
    /// Limiters for `settings`.
    ///
    /// # Errors
    /// When a rate or burst is 0.
    pub fn new(settings: &RateLimitSettings) -> anyhow::Result<Self> {
        let quota = |per_second: u32, burst: u32, what: &str| -> anyhow::Result<Quota> {
            let per_second = NonZeroU32::new(per_second).ok_or_else(|| {
                anyhow::anyhow!("rate_limit.{what}_per_second must be at least 1")
            })?;
            let burst = NonZeroU32::new(burst)
                .ok_or_else(|| anyhow::anyhow!("rate_limit.{what}_burst must be at least 1"))?;
            // governor's per_second(n) replenishes n cells a second (unlike tower_governor's
            // helper of the same name, which means one cell every n seconds).
            Ok(Quota::per_second(per_second).allow_burst(burst))
        };
        let principals = quota(
            settings.per_principal_per_second,
            settings.per_principal_burst,
            "per_principal",
        )?;
        let addresses = quota(settings.per_ip_per_second, settings.per_ip_burst, "per_ip")?;
        Ok(Self {
            settings: Arc::new(settings.clone()),
            principals: Arc::new(
                RateLimiter::keyed(principals).with_middleware::<StateInformationMiddleware>(),
            ),
            addresses: Arc::new(
                RateLimiter::keyed(addresses).with_middleware::<StateInformationMiddleware>(),
            ),
            clock: DefaultClock::default(),
        })
    }

    /// Spends one request of `caller`'s budget; `None` when limiting is off.
    #[must_use]
    pub fn check(&self, caller: &Caller) -> Option<Decision> {
        self.spend(caller, 1)
    }

    /// Spends `requests` of `caller`'s budget at once (a GraphQL document that reaches storage
    /// several times); `None` when limiting is off or there is nothing to spend. More than the
    /// whole burst is refused, with the time the burst takes to refill.
    #[must_use]
    pub fn spend(&self, caller: &Caller, requests: u32) -> Option<Decision> {
        let requests = NonZeroU32::new(requests)?;
        if !self.settings.enabled {
            return None;
        }
        let (limiter, key, limit, per_second) = match caller {
            Caller::Principal(key) => (
                &self.principals,
                format!("p:{key}"),
                self.settings.per_principal_burst,
                self.settings.per_principal_per_second,
            ),
            Caller::Address(address) => (
                &self.addresses,
                format!(
                    "a:{}",
                    address.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
                ),
                self.settings.per_ip_burst,
                self.settings.per_ip_per_second,
            ),
        };
        let refill = |cells: u32| -> u64 {
            Duration::from_secs_f64(f64::from(cells) / f64::from(per_second.max(1)))
                .as_secs_f64()
                .ceil() as u64
        };
        Some(match limiter.check_key_n(&key, requests) {
            Err(_insufficient_capacity) => Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset_secs: refill(limit),
            },
            Ok(Ok(snapshot)) => {
                let remaining = snapshot.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit,
                    remaining,
                    reset_secs: refill(limit.saturating_sub(remaining)),
                }
            }
            Ok(Err(not_until)) => Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset_secs: not_until
                    .wait_time_from(self.clock.now())
                    .as_secs_f64()
                    .ceil() as u64,
            },
        })
    }

    /// Forgets callers whose buckets are full again, so memory tracks active callers rather
    /// than every caller ever seen. Called periodically by the composition root.
    pub fn forget_idle(&self) {
        self.principals.retain_recent();
        self.addresses.retain_recent();
        self.principals.shrink_to_fit();
        self.addresses.shrink_to_fit();
    }

    /// The client's IP: the peer, unless the peer is a trusted proxy, in which case the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
    #[must_use]
    pub fn client_ip(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|entry| entry.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|address| !self.is_trusted(*address))
                .unwrap_or(peer),
        )
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.settings
            .trusted_proxies
            .iter()
            .any(|network| network.contains(&address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(trusted: &[&str]) -> RateLimits {
        RateLimits::new(&RateLimitSettings {
            enabled: true,
            per_principal_per_second: 1,
            per_principal_burst: 3,
            per_ip_per_second: 1,
            per_ip_burst: 1,
            trusted_proxies: trusted.iter().map(|net| net.parse().unwrap()).collect(),
        })
        .unwrap()
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limits = limits(&[]);
        let caller = Caller::Principal("t/alice".to_owned());
        let remaining: Vec<u32> = (0..3)
            .map(|_| limits.check(&caller).unwrap().remaining)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limits.check(&caller).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.reset_secs, 1);
        // Another principal has its own budget.
        assert!(
            limits
                .check(&Caller::Principal("t/bob".to_owned()))
                .unwrap()
                .allowed
        );
    }

    #[test]
    fn a_costly_request_spends_several_requests_of_the_budget_at_once() {
        let limits = limits(&[]);
        let caller = Caller::Principal("t/carol".to_owned());
        assert_eq!(limits.spend(&caller, 2).unwrap().remaining, 1);
        assert!(
            !limits.spend(&caller, 2).unwrap().allowed,
            "one left, two asked"
        );
        assert!(
            limits.spend(&caller, 1).unwrap().allowed,
            "a refusal spends nothing"
        );
        let beyond = limits
            .spend(&Caller::Principal("t/dan".to_owned()), 4)
            .unwrap();
        assert!(
            !beyond.allowed,
            "more than the whole burst is never allowed"
        );
        assert_eq!(limits.spend(&caller, 0), None, "nothing to spend");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let limits = limits(&["10.0.0.0/8"]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.7, 10.1.2.3"),
        );
        let proxy: SocketAddr = "10.0.0.5:443".parse().unwrap();
        let stranger: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert_eq!(
            limits.client_ip(Some(proxy), &headers),
            Some("198.51.100.7".parse().unwrap()),
            "the right-most untrusted hop, not the client-chosen left-most one"
        );
        assert_eq!(
            limits.client_ip(Some(stranger), &headers),
            Some(stranger.ip()),
            "an untrusted peer's header is ignored"
        );
    }
}
