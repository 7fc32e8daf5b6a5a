//! The feature-flag port: how a use case asks "is this behaviour on for this caller?" without
//! knowing where flags live (a file, flagd, LaunchDarkly).
//!
//! A flag lets a change ship dark and reach callers step by step: a few tenants first, then a
//! share of them, then everyone, with a kill switch that turns it off again without a deploy.
//! The adapter behind this port (`adapter-flags`, through the OpenFeature SDK) decides who gets
//! what and makes each decision visible in traces and metrics. This module must not know any
//! provider, file format or rollout rule; it only names the flags the domain asks about.
//!
//! A flag is a debt: it has an owner and an expiry, and once it is on for everyone its code path
//! becomes the only one and the flag is removed (`docs/runbooks/feature-flags.md`).

use async_trait::async_trait;

use crate::auth::Principal;

/// A flag the domain asks about, by the key it has in configuration (`[flags.rules.<key>]`):
/// lowercase letters, digits and `_`, so it can be set from an `APP__FLAGS__...` variable too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flag(&'static str);

impl Flag {
    /// The flag configured under `key`.
    #[must_use]
    pub const fn new(key: &'static str) -> Self {
        Self(key)
    }

    /// Its key in configuration, traces and metrics.
    #[must_use]
    pub const fn key(self) -> &'static str {
        self.0
    }
}

/// Answers whether a flag is on for a caller. Never fails: a flag that cannot be evaluated
/// (unknown, provider down) is off, so a broken flag system falls back to the behaviour that
/// existed before the flag.
#[async_trait]
pub trait Flags: Send + Sync {
    /// Whether `flag` is on for `principal` and the tenant it acts for. The same caller gets the
    /// same answer for as long as the flag's rules stay the same.
    async fn is_enabled(&self, flag: Flag, principal: &Principal) -> bool;
}

/// Every flag off: the behaviour from before any flag, for tests and tools that build the use
/// cases without the flag adapter.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllOff;

#[async_trait]
impl Flags for AllOff {
    async fn is_enabled(&self, _flag: Flag, _principal: &Principal) -> bool {
        false
    }
}
