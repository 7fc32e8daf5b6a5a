//! The in-process adapter ring: ports served from the service's own memory. Each resource's
//! cache (in `resources`) is the one to use without Redis (tests, a single replica, a laptop).
//! It must not be the only copy of anything: what it holds is lost on restart, by design.

pub mod resources;

use serde::{Deserialize, Serialize};

/// In-process cache settings, the `[cache.memory]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryCacheSettings {
    /// Most entries kept; the least useful are evicted first.
    pub capacity: u64,
    /// How long an entry lives.
    pub ttl_secs: u64,
}
