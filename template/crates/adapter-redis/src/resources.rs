//! One module per resource, each serving that resource's cache port from Redis, behind the
//! shared connection and breaker. A new resource's Redis cache is declared here (the example's
//! `items` shows one: `RedisItemCache`, in a service generated with `example=true`).
