//! `ItemCache` over Redis. Entries are `<version>|<json>` (or `<version>|` for a deletion)
//! under `<prefix>:items:v1:<tenant>:<id>`: namespaced by service, resource and schema version,
//! so a change of the cached shape only needs `v2`. Writes go through a Lua script that keeps
//! the entry only if it is newer than what is there, atomically in Redis.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use domain::items::{CacheError, Item, ItemCache, ItemDescription, ItemId, ItemName, ItemStatus};
use domain::tenants::TenantId;
use redis::Script;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::{Breaker, RedisCacheSettings, RedisConnection};

/// Stores the entry unless the current one has the same or a newer version: the domain's rule
/// (`domain::cache::Cached::replaces`), run inside Redis so it is atomic per key.
const PUT_IF_NEWER: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%-?%d+)|'))
  if version and version >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
";

/// Items cached in Redis, behind a circuit breaker.
#[derive(Clone)]
pub struct RedisItemCache {
    connection: RedisConnection,
    breaker: Breaker,
    prefix: String,
    ttl: Duration,
    jitter: f64,
    script: Script,
}

impl std::fmt::Debug for RedisItemCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisItemCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The cached shape of an item: a type of this adapter, so the domain stays free of serde.
#[derive(Debug, Serialize, Deserialize)]
struct CachedItem {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    description: Option<String>,
    status: String,
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl From<&Item> for CachedItem {
    fn from(item: &Item) -> Self {
        Self {
            id: item.id.as_uuid(),
            tenant_id: item.tenant_id.as_uuid(),
            name: item.name.as_str().to_owned(),
            description: item
                .description
                .as_ref()
                .map(|text| text.as_str().to_owned()),
            status: item.status.as_str().to_owned(),
            version: item.version,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

impl TryFrom<CachedItem> for Item {
    type Error = anyhow::Error;

    fn try_from(cached: CachedItem) -> Result<Self, Self::Error> {
        Ok(Item {
            id: cached.id.into(),
            tenant_id: cached.tenant_id.into(),
            name: ItemName::parse(&cached.name)?,
            description: cached
                .description
                .as_deref()
                .map(ItemDescription::parse)
                .transpose()?,
            status: ItemStatus::parse(&cached.status)?,
            version: cached.version,
            created_at: cached.created_at,
            updated_at: cached.updated_at,
        })
    }
}

impl RedisItemCache {
    /// A cache over the shared connection, with its own breaker.
    pub fn new(
        connection: RedisConnection,
        breaker: Breaker,
        settings: &RedisCacheSettings,
    ) -> Self {
        Self {
            connection,
            breaker,
            prefix: settings.key_prefix.clone(),
            ttl: Duration::from_secs(settings.ttl_secs),
            jitter: settings.ttl_jitter,
            script: Script::new(PUT_IF_NEWER),
        }
    }

    fn key(&self, tenant_id: TenantId, id: ItemId) -> String {
        format!("{}:items:v1:{tenant_id}:{id}", self.prefix)
    }

    /// The TTL, spread by ±`jitter` so entries written together do not expire together.
    fn ttl_ms(&self) -> u64 {
        let spread = 1.0 + self.jitter * (fastrand::f64() * 2.0 - 1.0);
        (self.ttl.as_secs_f64() * 1000.0 * spread).max(1.0) as u64
    }

    async fn read(&self, tenant_id: TenantId, id: ItemId) -> Result<Option<Item>, CacheError> {
        let mut connection = self.connection.manager();
        let key = self.key(tenant_id, id);
        let entry: Option<String> = self
            .breaker
            .call(async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        let Some(entry) = entry else { return Ok(None) };
        let (_version, payload) = entry.split_once('|').context("malformed cache entry")?;
        if payload.is_empty() {
            return Ok(None); // a deletion marker
        }
        let cached: CachedItem = serde_json::from_str(payload).context("unreadable cache entry")?;
        Ok(Some(Item::try_from(cached).context("invalid cached item")?))
    }

    async fn store(&self, key: String, version: i64, payload: String) -> Result<(), CacheError> {
        let mut connection = self.connection.manager();
        let mut invocation = self.script.key(key);
        invocation.arg(version).arg(payload).arg(self.ttl_ms());
        self.breaker
            .call(async move { invocation.invoke_async::<i64>(&mut connection).await })
            .await
            .map(|_stored| ())
    }
}

#[async_trait]
impl ItemCache for RedisItemCache {
    #[instrument(skip(self), fields(db.system.name = "redis", cache.backend = "redis"), err(level = "debug"))]
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Option<Item>, CacheError> {
        let started = Instant::now();
        let result = self.read(tenant_id, id).await;
        let outcome = match &result {
            Ok(Some(_)) => "hit",
            Ok(None) => "miss",
            Err(_) => "error",
        };
        metrics::counter!("cache_requests_total", "cache" => "items", "backend" => "redis", "result" => outcome)
            .increment(1);
        metrics::histogram!("cache_operation_duration_seconds", "cache" => "items", "backend" => "redis", "operation" => "get")
            .record(started.elapsed().as_secs_f64());
        result
    }

    #[instrument(skip_all, fields(db.system.name = "redis", cache.backend = "redis", item.id = %item.id), err(level = "debug"))]
    async fn put(&self, item: &Item) -> Result<(), CacheError> {
        let payload = serde_json::to_string(&CachedItem::from(item)).context("encoding an item")?;
        self.store(self.key(item.tenant_id, item.id), item.version, payload)
            .await
    }

    #[instrument(skip(self), fields(db.system.name = "redis", cache.backend = "redis"), err(level = "debug"))]
    async fn forget(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        version: i64,
    ) -> Result<(), CacheError> {
        // The marker outranks the copy of the same version that was deleted.
        let marker = domain::cache::deletion_version(version);
        self.store(self.key(tenant_id, id), marker, String::new())
            .await
    }
}
