//! One module per resource, each serving that resource's cache port from Redis, behind the
//! shared connection and breaker. A new resource's Redis cache is declared here, beside the
//! example's.

mod item_cache;

pub use item_cache::RedisItemCache;
