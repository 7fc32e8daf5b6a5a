//! Typed, layered configuration, loaded once in `main` and passed down by value.
//!
//! Layers, later wins: the `config/default.toml` compiled into the binary, the same file on
//! disk, `config/<APP_ENV>.toml`, then environment variables `APP__<SECTION>__<KEY>`
//! (`APP__DATABASE__URL`), then files named by `APP__<SECTION>__<KEY>_FILE` (secrets mounted by
//! Kubernetes or Docker: `APP__AUTH__HS256_SECRET_FILE=/run/secrets/jwt`). Each adapter owns its section's type; this module only assembles
//! them and checks what no single section can check alone.

use std::path::{Path, PathBuf};

use adapter_http::HttpSettings;
use adapter_http::auth::{% if auth == "jwt" %}{AuthMode, AuthSettings}{% else %}AuthSettings{% endif %};
{% if graphql %}use adapter_http::graphql::GraphqlSettings;
{% endif %}use adapter_http::rate_limit::RateLimitSettings;
use adapter_memory::MemoryCacheSettings;
{% if messaging == "nats" %}use adapter_nats::MessagingSettings;
{% endif %}use adapter_postgres::PostgresSettings;
{% if messaging == "rabbitmq" %}use adapter_rabbitmq::MessagingSettings;
{% endif %}{% if cache == "redis" %}use adapter_redis::{RedisCacheSettings, RedisSettings};
{% endif %}{% if database == "postgres+sqlite" %}use adapter_sqlite::SqliteSettings;
{% endif %}use adapter_webhook::WebhookSettings;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use telemetry::TelemetrySettings;

/// The defaults, compiled in so the binary runs with no config files at all (containers
/// configured only by environment variables).
const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The `http.cursor_secret` shipped in `config/default.toml`: fine on a laptop, refused in
/// production, where anyone reading this repository could forge cursors with it.
const DEVELOPMENT_CURSOR_SECRET: &str = "development-only-cursor-secret-change-me";

{% if auth == "jwt" %}/// The `auth.hs256_secret` shipped in `config/default.toml`, refused in production for the
/// same reason: with it, anyone can mint an admin token.
const DEVELOPMENT_JWT_SECRET: &str = "development-only-jwt-secret-change-me-0123456789";

{% endif %}/// The `database.encryption_keys` shipped in `config/default.toml`: public, so refused in
/// production (data sealed with it is as good as plaintext).
const DEVELOPMENT_ENCRYPTION_KEYS: &str = "dev:ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMhISE=";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP server: bind address, limits, timeouts.
    pub http: HttpSettings,
    /// PostgreSQL: URL and pool{% if database == "postgres+sqlite" %} (no URL: the embedded SQLite database below){% endif %}.
    pub database: PostgresSettings,
{% if database == "postgres+sqlite" %}    /// The embedded SQLite database, used when `database.url` is empty.
    pub sqlite: SqliteSettings,
{% endif %}{% if cache == "redis" %}    /// Redis: URL and timeouts.
    pub redis: RedisSettings,
{% endif %}    /// Caching: which backend, and its knobs.
    pub cache: CacheSettings,
    /// Outbound webhooks for item events.
    pub webhook: WebhookSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// {% if auth == "jwt" %}Bearer tokens, and who{% else %}Who{% endif %} may read docs, metrics and health.
    pub auth: AuthSettings,
    /// Per-principal and per-IP request budgets.
    pub rate_limit: RateLimitSettings,
{% if graphql %}    /// GraphQL's query limits and introspection.
    pub graphql: GraphqlSettings,
{% endif %}{% if messaging != "none" %}    /// The broker, the outbox relay and the example consumer.
    pub messaging: MessagingSettings,
{% endif %}}

{% if cache == "redis" %}/// Which cache backs the cache ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheBackend {
    /// Redis, shared by every replica.
    Redis,
    /// This process's memory.
    Memory,
}

{% endif %}/// The `[cache]` section: the backend, and the settings of each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
{% if cache == "redis" %}    /// Which backend to use.
    pub backend: CacheBackend,
    /// Settings of the Redis cache.
    pub redis: RedisCacheSettings,
{% endif %}    /// Settings of the in-process cache.
    pub memory: MemoryCacheSettings,
}

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `APP_ENV`: `local`, `test`, `production`... picks `config/<environment>.toml`.
    pub environment: String,
    /// The folder holding the TOML files (`APP_CONFIG_DIR`, default `config`).
    pub directory: PathBuf,
}

impl Sources {
    /// Reads `APP_ENV` (default `local`) and `APP_CONFIG_DIR` (default `config`).
    pub fn from_env() -> Self {
        Self {
            environment: std::env::var("APP_ENV").unwrap_or_else(|_| "local".to_owned()),
            directory: std::env::var_os("APP_CONFIG_DIR")
                .map_or_else(|| PathBuf::from("config"), PathBuf::from),
        }
    }
}

/// Why the configuration cannot be used. The message names the key and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A `*_FILE` variable names a file that cannot be read.
    #[error("invalid configuration: {0}")]
    SecretFile(String),
    /// A value is missing, of the wrong type, or unknown.
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// Values that parse but cannot work together.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads and checks the configuration from the given sources.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first key at fault.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let settings: Self = figment(sources)?.extract().map_err(Box::new)?;
        settings.validate(&sources.environment)?;
        Ok(settings)
    }

    fn validate(&self, environment: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if environment == "production" && self.http.cursor_secret == DEVELOPMENT_CURSOR_SECRET {
            return invalid(
                "http.cursor_secret still has the development value; set APP__HTTP__CURSOR_SECRET"
                    .to_owned(),
            );
        }
        if self.http.cursor_secret.len() < 32 {
            return invalid("http.cursor_secret must be at least 32 characters".to_owned());
        }
        self.validate_access({% if auth == "jwt" %}environment{% endif %})?;
        if environment == "production"
            && self.database.encryption_keys == DEVELOPMENT_ENCRYPTION_KEYS
        {
            return invalid(
                "database.encryption_keys still has the development key; set \
                 APP__DATABASE__ENCRYPTION_KEYS(_FILE)"
                    .to_owned(),
            );
        }
        field_cipher::FieldCipher::from_config(&self.database.encryption_keys)
            .map_err(|error| ConfigError::Invalid(error.to_string()))?;
        self.validate_servers(environment)?;
        let database = &self.database;
        if database.max_connections == 0 {
            return invalid("database.max_connections must be at least 1".to_owned());
        }
        if database.min_connections > database.max_connections {
            return invalid(format!(
                "database.min_connections ({}) must not exceed database.max_connections ({})",
                database.min_connections, database.max_connections
            ));
        }
        for (key, value) in [
            ("http.request_timeout_ms", self.http.request_timeout_ms),
            ("http.probe_timeout_ms", self.http.probe_timeout_ms),
            ("database.acquire_timeout_ms", database.acquire_timeout_ms),
            (
                "database.statement_timeout_ms",
                database.statement_timeout_ms,
            ),
        ] {
            if value == 0 {
                return invalid(format!("{key} must be greater than 0"));
            }
        }
{% if cache == "redis" %}        self.validate_redis()?;
{% endif %}        let webhook = &self.webhook;
        if webhook.max_attempts == 0 || webhook.timeout_ms == 0 || webhook.breaker_window == 0 {
            return invalid(
                "webhook: max_attempts, timeout_ms and breaker_window must be at least 1"
                    .to_owned(),
            );
        }
        if self.http.max_in_flight == 0 {
            return invalid("http.max_in_flight must be at least 1".to_owned());
        }
        if self.http.body_limit_bytes == 0 {
            return invalid("http.body_limit_bytes must be greater than 0".to_owned());
        }
{% if graphql %}        if self.graphql.max_depth == 0 || self.graphql.max_complexity == 0 {
            return invalid(
                "graphql: max_depth and max_complexity must be at least 1 (0 would refuse every query)"
                    .to_owned(),
            );
        }
        if self.graphql.max_mutations == 0 {
            return invalid(
                "graphql: max_mutations must be at least 1 (0 would refuse every mutation)"
                    .to_owned(),
            );
        }
{% endif %}{% if messaging != "none" %}        self.validate_messaging(environment)?;
{% endif %}        Ok(())
    }
{% if messaging != "none" %}
    fn validate_messaging(&self, environment: &str) -> Result<(), ConfigError> {
        let messaging = &self.messaging;
        if environment == "production" && messaging.url.is_empty() {
            return Err(ConfigError::Invalid(
                "APP_ENV=production needs the broker: set messaging.url (APP__MESSAGING__URL); \
                 without it events pile up in the outbox and nothing is published"
                    .to_owned(),
            ));
        }
        if {% if messaging == "rabbitmq" %}messaging.exchange.is_empty(){% else %}messaging.stream.is_empty()
            || messaging.subject_prefix.is_empty()
            || messaging.max_deliver == 0{% endif %}
            || messaging.prefetch == 0
            || messaging.publish_timeout_ms == 0
            || messaging.relay_batch == 0
            || messaging.relay_interval_ms == 0
            || messaging.relay_max_attempts == 0
            || messaging.retry_base_ms == 0
            || messaging.retry_max_ms < messaging.retry_base_ms
        {
            return Err(ConfigError::Invalid(
                "messaging: {% if messaging == "rabbitmq" %}exchange{% else %}stream and subject_prefix{% endif %} must be set; {% if messaging == "nats" %}max_deliver, {% endif %}prefetch, publish_timeout_ms, relay_batch, \
                 relay_interval_ms, relay_max_attempts and retry_base_ms at least 1; \
                 retry_max_ms at least retry_base_ms"
                    .to_owned(),
            ));
        }
        if messaging.relay_lease_ms <= messaging.publish_timeout_ms {
            return Err(ConfigError::Invalid(format!(
                "messaging.relay_lease_ms ({}) must exceed messaging.publish_timeout_ms ({}): a \
                 lease that ends mid-publish lets another relay publish the same event again",
                messaging.relay_lease_ms, messaging.publish_timeout_ms
            )));
        }
        Ok(())
    }
{% endif %}
    /// Production runs on the servers, never on the development fallbacks: PostgreSQL{% if cache == "redis" %} and
    /// Redis{% endif %} must be configured.
    fn validate_servers(&self, environment: &str) -> Result<(), ConfigError> {
        let production = environment == "production";
{% if database == "postgres+sqlite" %}        if production && self.database.url.is_empty() {
            return Err(ConfigError::Invalid(
                "APP_ENV=production needs PostgreSQL: set database.url (APP__DATABASE__URL); \
                 the embedded SQLite file is for development only"
                    .to_owned(),
            ));
        }
        let sqlite = &self.sqlite;
        if sqlite.path.is_empty()
            || sqlite.max_readers == 0
            || sqlite.busy_timeout_ms == 0
            || sqlite.acquire_timeout_ms == 0
        {
            return Err(ConfigError::Invalid(
                "sqlite: path must be set, max_readers and the timeouts at least 1".to_owned(),
            ));
        }
{% else %}        if self.database.url.is_empty() {
            let who = if production {
                "APP_ENV=production"
            } else {
                "this service"
            };
            return Err(ConfigError::Invalid(format!(
                "{who} needs PostgreSQL: set database.url (APP__DATABASE__URL)"
            )));
        }
{% endif %}{% if cache == "redis" %}        if production && self.redis.url.is_empty() {
            return Err(ConfigError::Invalid(
                "APP_ENV=production needs Redis: set redis.url (APP__REDIS__URL); the \
                 in-process cache would let replicas serve each other's stale copies"
                    .to_owned(),
            ));
        }
{% endif %}        Ok(())
    }

{% if cache == "redis" %}    fn validate_redis(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        for (key, value) in [
            ("redis.command_timeout_ms", self.redis.command_timeout_ms),
            ("redis.connect_timeout_ms", self.redis.connect_timeout_ms),
        ] {
            if value == 0 {
                return invalid(format!("{key} must be greater than 0"));
            }
        }
        let breaker = &self.cache.redis.breaker;
        if !(0.0..=1.0).contains(&breaker.failure_rate) || breaker.window == 0 {
            return invalid(
                "cache.redis.breaker: failure_rate must be 0.0 to 1.0 and window at least 1"
                    .to_owned(),
            );
        }
        if !(0.0..1.0).contains(&self.cache.redis.ttl_jitter) {
            return invalid("cache.redis.ttl_jitter must be at least 0.0 and below 1.0".to_owned());
        }
        Ok(())
    }

{% endif %}    fn validate_access(&self{% if auth == "jwt" %}, environment: &str{% endif %}) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
{% if auth == "jwt" %}        let auth = &self.auth;
        match auth.mode {
            AuthMode::Hs256 => {
                if environment == "production" && auth.hs256_secret == DEVELOPMENT_JWT_SECRET {
                    return invalid(
                        "auth.hs256_secret still has the development value; set \
                         APP__AUTH__HS256_SECRET(_FILE) or use auth.mode = \"jwks\"",
                    );
                }
                if auth.hs256_secret.len() < 32 {
                    return invalid("auth.hs256_secret must be at least 32 characters");
                }
            }
            AuthMode::Jwks => {
                if !auth.jwks_url.starts_with("https://") && !auth.jwks_url.starts_with("http://") {
                    return invalid("auth.jwks_url must be an http(s) URL in mode jwks");
                }
                if auth.algorithms.is_empty()
                    || auth
                        .algorithms
                        .iter()
                        .any(|algorithm| format!("{algorithm:?}").starts_with("HS"))
                {
                    return invalid(
                        "auth.algorithms must list asymmetric algorithms (RS256, ES256...) in \
                         mode jwks; HMAC there would let a public key sign tokens",
                    );
                }
            }
        }
        if auth.issuer.is_empty() || auth.audience.is_empty() {
            return invalid("auth.issuer and auth.audience must be set");
        }
        if auth.tenant_claim.is_empty() || auth.roles_claim.is_empty() {
            return invalid("auth.tenant_claim and auth.roles_claim must be set");
        }
{% endif %}        let limits = &self.rate_limit;
        if [
            limits.per_principal_per_second,
            limits.per_principal_burst,
            limits.per_ip_per_second,
            limits.per_ip_burst,
        ]
        .contains(&0)
        {
            return invalid("rate_limit: every rate and burst must be at least 1");
        }
        adapter_http::security::cors(&self.http.cors_allowed_origins)
            .map_err(|error| ConfigError::Invalid(error.to_string()))?;
        Ok(())
    }

    /// The configuration as JSON with every secret replaced by `***`, for `config` and logs.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({
            "http": {
                "host": self.http.host,
                "port": self.http.port,
                "request_timeout_ms": self.http.request_timeout_ms,
                "body_limit_bytes": self.http.body_limit_bytes,
                "probe_timeout_ms": self.http.probe_timeout_ms,
                "shutdown_timeout_ms": self.http.shutdown_timeout_ms,
                "max_in_flight": self.http.max_in_flight,
                "cursor_secret": "***",
                "cors_allowed_origins": self.http.cors_allowed_origins,
            },
            "database": {
                "url": redact_url(&self.database.url),
                "read_url": self.database.read_url.as_deref().map(redact_url),
                "max_connections": self.database.max_connections,
                "min_connections": self.database.min_connections,
                "acquire_timeout_ms": self.database.acquire_timeout_ms,
                "idle_timeout_secs": self.database.idle_timeout_secs,
                "max_lifetime_secs": self.database.max_lifetime_secs,
                "statement_timeout_ms": self.database.statement_timeout_ms,
                "create_database": self.database.create_database,
                "migrate_on_start": self.database.migrate_on_start,
                "encryption_keys": "***",
            },
{% if database == "postgres+sqlite" %}            "sqlite": {
                "path": self.sqlite.path,
                "max_readers": self.sqlite.max_readers,
                "busy_timeout_ms": self.sqlite.busy_timeout_ms,
                "acquire_timeout_ms": self.sqlite.acquire_timeout_ms,
            },
{% endif %}{% if cache == "redis" %}            "redis": {
                "url": redact_url(&self.redis.url),
                "command_timeout_ms": self.redis.command_timeout_ms,
                "connect_timeout_ms": self.redis.connect_timeout_ms,
            },
{% endif %}            "cache": {
{% if cache == "redis" %}                "backend": self.cache.backend,
                "redis": {
                    "key_prefix": self.cache.redis.key_prefix,
                    "ttl_secs": self.cache.redis.ttl_secs,
                    "ttl_jitter": self.cache.redis.ttl_jitter,
                    "breaker": {
                        "failure_rate": self.cache.redis.breaker.failure_rate,
                        "window": self.cache.redis.breaker.window,
                        "open_ms": self.cache.redis.breaker.open_ms,
                    },
                },
{% endif %}                "memory": {
                    "capacity": self.cache.memory.capacity,
                    "ttl_secs": self.cache.memory.ttl_secs,
                },
            },
            "webhook": {
                "url": redact_url(&self.webhook.url),
                "timeout_ms": self.webhook.timeout_ms,
                "max_attempts": self.webhook.max_attempts,
                "backoff_base_ms": self.webhook.backoff_base_ms,
                "backoff_max_ms": self.webhook.backoff_max_ms,
                "queue_capacity": self.webhook.queue_capacity,
                "breaker_failure_rate": self.webhook.breaker_failure_rate,
                "breaker_window": self.webhook.breaker_window,
                "breaker_open_ms": self.webhook.breaker_open_ms,
            },
            "telemetry": {
                "log_format": format!("{:?}", self.telemetry.log_format).to_lowercase(),
                "log_filter": self.telemetry.log_filter,
                "otlp_endpoint": self.telemetry.otlp_endpoint,
                "sampling_ratio": self.telemetry.sampling_ratio,
            },
            "auth": {
{% if auth == "jwt" %}                "mode": self.auth.mode,
                "hs256_secret": "***",
                "jwks_url": self.auth.jwks_url,
                "algorithms": self.auth.algorithms,
                "issuer": self.auth.issuer,
                "audience": self.auth.audience,
                "leeway_secs": self.auth.leeway_secs,
                "tenant_claim": self.auth.tenant_claim,
                "roles_claim": self.auth.roles_claim,
                "jwks_max_age_secs": self.auth.jwks_max_age_secs,
                "jwks_min_refetch_interval_ms": self.auth.jwks_min_refetch_interval_ms,
                "jwks_timeout_ms": self.auth.jwks_timeout_ms,
{% endif %}                "docs": self.auth.docs,
                "metrics": self.auth.metrics,
                "health": self.auth.health,
            },
            "rate_limit": {
                "enabled": self.rate_limit.enabled,
                "per_principal_per_second": self.rate_limit.per_principal_per_second,
                "per_principal_burst": self.rate_limit.per_principal_burst,
                "per_ip_per_second": self.rate_limit.per_ip_per_second,
                "per_ip_burst": self.rate_limit.per_ip_burst,
                "trusted_proxies": self.rate_limit.trusted_proxies,
            },
{% if graphql %}            "graphql": {
                "max_depth": self.graphql.max_depth,
                "max_complexity": self.graphql.max_complexity,
                "max_mutations": self.graphql.max_mutations,
                "introspection": self.graphql.introspection,
            },
{% endif %}{% if messaging != "none" %}            "messaging": {
                "url": redact_url(&self.messaging.url),
{% if messaging == "rabbitmq" %}                "exchange": self.messaging.exchange,
                "consumer_queue": self.messaging.consumer_queue,
{% else %}                "stream": self.messaging.stream,
                "subject_prefix": self.messaging.subject_prefix,
                "consumer": self.messaging.consumer,
                "max_deliver": self.messaging.max_deliver,
{% endif %}                "prefetch": self.messaging.prefetch,
                "publish_timeout_ms": self.messaging.publish_timeout_ms,
                "relay_batch": self.messaging.relay_batch,
                "relay_interval_ms": self.messaging.relay_interval_ms,
                "relay_lease_ms": self.messaging.relay_lease_ms,
                "relay_max_attempts": self.messaging.relay_max_attempts,
                "retry_base_ms": self.messaging.retry_base_ms,
                "retry_max_ms": self.messaging.retry_max_ms,
            },
{% endif %}        })
    }
}

fn figment(sources: &Sources) -> Result<Figment, ConfigError> {
    let file = |name: &str| -> PathBuf { Path::new(&sources.directory).join(name) };
    let mut figment = Figment::new()
        .merge(Toml::string(DEFAULTS))
        .merge(Toml::file(file("default.toml")))
        .merge(Toml::file(file(&format!("{}.toml", sources.environment))))
        .merge(
            Env::prefixed("APP__")
                .split("__")
                .filter(|key| !key.as_str().to_ascii_lowercase().ends_with("_file")),
        );
    for (key, value) in secret_files(std::env::vars())? {
        figment = figment.merge((key, value));
    }
    Ok(figment)
}

/// The `APP__SECTION__KEY_FILE=/path` variables, read: (`section.key`, the file's content
/// without its trailing newline). A named file that cannot be read is an error, not a silent
/// fallback to the development default.
fn secret_files(
    variables: impl Iterator<Item = (String, String)>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut found = Vec::new();
    for (name, path) in variables {
        let Some(key) = name
            .strip_prefix("APP__")
            .and_then(|name| name.strip_suffix("_FILE"))
        else {
            continue;
        };
        let content = std::fs::read_to_string(&path).map_err(|error| {
            ConfigError::SecretFile(format!("{name}: cannot read {path}: {error}"))
        })?;
        let key = key.split("__").collect::<Vec<_>>().join(".").to_lowercase();
        found.push((key, content.trim_end_matches(['\r', '\n']).to_owned()));
    }
    Ok(found)
}

/// Replaces the password in a URL (`scheme://user:secret@host`) with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
// figment::Jail fixes the closures' error type (figment::Error, which is large); not ours to box.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cr:et@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(
            redact_url("redis://:hunter2@cache:6379"),
            "redis://:***@cache:6379"
        );
        assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
    }

    #[test]
    fn compiled_in_defaults_are_complete_and_valid() {
        figment::Jail::expect_with(|_jail| {
            let sources = Sources {
                environment: "none".to_owned(),
                directory: PathBuf::from("/nonexistent"),
            };
            let settings = Settings::load(&sources).map_err(|error| error.to_string())?;
            assert!(settings.database.max_connections >= settings.database.min_connections);
            Ok(())
        });
    }

    #[test]
    fn environment_variables_override_files_and_bad_values_name_the_key() {
        figment::Jail::expect_with(|jail| {
            let sources = Sources {
                environment: "none".to_owned(),
                directory: jail.directory().to_owned(),
            };
            jail.create_file("default.toml", "[http]\nport = 9000\n")?;
            assert_eq!(
                Settings::load(&sources)
                    .map_err(|e| e.to_string())?
                    .http
                    .port,
                9000
            );
            jail.set_env("APP__HTTP__PORT", "9100");
            assert_eq!(
                Settings::load(&sources)
                    .map_err(|e| e.to_string())?
                    .http
                    .port,
                9100
            );
            jail.set_env("APP__HTTP__PORT", "not-a-port");
            let error = Settings::load(&sources).unwrap_err().to_string();
            // figment names the key as the environment spells it (`HTTP.PORT`).
            assert!(error.to_lowercase().contains("http.port"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn production_refuses_the_development_cursor_secret() {
        figment::Jail::expect_with(|jail| {
            let sources = Sources {
                environment: "production".to_owned(),
                directory: jail.directory().to_owned(),
            };
            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("http.cursor_secret"), "{error}");
            jail.set_env(
                "APP__HTTP__CURSOR_SECRET",
                "a-real-secret-from-the-secret-store-0123456789",
            );
{% if auth == "jwt" %}            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("auth.hs256_secret"), "{error}");
            // Secrets arrive as mounted files too; the file's trailing newline is not part of it.
            jail.create_file("jwt-secret", "another-real-secret-from-the-secret-store\n")?;
            let path = jail.directory().join("jwt-secret");
            jail.set_env("APP__AUTH__HS256_SECRET_FILE", path.display());
{% endif %}            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("database.encryption_keys"), "{error}");
            jail.set_env(
                "APP__DATABASE__ENCRYPTION_KEYS",
                "prod1:cHJvZHVjdGlvbi1rZXktZnJvbS1hLXZhdWx0LTMyYiE=",
            );
{% if database == "postgres+sqlite" %}            // No development fallbacks in production: the embedded SQLite file is refused...
            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("database.url"), "{error}");
{% endif %}            jail.set_env("APP__DATABASE__URL", "postgres://app@db.internal:5432/app");
{% if database == "postgres+sqlite" and cache == "redis" %}            // ...and so is the in-process cache standing in for Redis.
            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("redis.url"), "{error}");
            jail.set_env("APP__REDIS__URL", "redis://cache.internal:6379");
{% endif %}{% if messaging != "none" %}            // Nor is a service whose events would only pile up in the outbox.
            jail.set_env("APP__MESSAGING__URL", "");
            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("messaging.url"), "{error}");
            jail.set_env(
                "APP__MESSAGING__URL",
                "{% if messaging == "rabbitmq" %}amqp://app:secret-password@broker.internal:5672/%2f{% else %}nats://app:secret-password@broker.internal:4222{% endif %}",
            );
{% endif %}            let settings = Settings::load(&sources).map_err(|e| e.to_string())?;
{% if auth == "jwt" %}            assert_eq!(
                settings.auth.hs256_secret,
                "another-real-secret-from-the-secret-store"
            );
{% endif %}            let printed = settings.redacted().to_string();
{% if auth == "jwt" %}            assert!(!printed.contains("another-real-secret"), "{printed}");
{% endif %}            assert!(!printed.contains("a-real-secret"), "{printed}");
            assert!(!printed.contains("cHJvZHVjdGlvbi1rZXk"), "{printed}");
{% if messaging != "none" %}            assert!(!printed.contains("secret-password"), "{printed}");
{% endif %}            Ok(())
        });
    }
{% if graphql %}
    #[test]
    fn production_turns_graphql_introspection_off() {
        let production = Figment::from(Toml::string(include_str!(
            "../../../config/production.toml"
        )));
        let introspection: bool = production.extract_inner("graphql.introspection").unwrap();
        assert!(
            !introspection,
            "the committed schema is the contract; no live map of it"
        );
    }
{% endif %}
    #[test]
    fn an_unreadable_secret_file_is_an_error_not_a_fallback() {
        figment::Jail::expect_with(|jail| {
            let sources = Sources {
                environment: "none".to_owned(),
                directory: jail.directory().to_owned(),
            };
            jail.set_env("APP__HTTP__CURSOR_SECRET_FILE", "/nonexistent/secret");
            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("APP__HTTP__CURSOR_SECRET_FILE"), "{error}");
            Ok(())
        });
    }

{% if auth == "jwt" %}    #[test]
    fn jwks_mode_refuses_hmac_algorithms() {
        figment::Jail::expect_with(|jail| {
            let sources = Sources {
                environment: "none".to_owned(),
                directory: jail.directory().to_owned(),
            };
            jail.set_env("APP__AUTH__MODE", "jwks");
            jail.set_env("APP__AUTH__JWKS_URL", "https://id.example.com/jwks.json");
            jail.set_env("APP__AUTH__ALGORITHMS", "[RS256,HS256]");
            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("auth.algorithms"), "{error}");
            jail.set_env("APP__AUTH__ALGORITHMS", "[RS256,ES256]");
            assert!(Settings::load(&sources).is_ok());
            Ok(())
        });
    }

{% endif %}    #[test]
    fn inconsistent_pool_sizes_are_refused() {
        figment::Jail::expect_with(|jail| {
            let sources = Sources {
                environment: "none".to_owned(),
                directory: jail.directory().to_owned(),
            };
            jail.set_env("APP__DATABASE__MIN_CONNECTIONS", "50");
            jail.set_env("APP__DATABASE__MAX_CONNECTIONS", "5");
            let error = Settings::load(&sources).unwrap_err().to_string();
            assert!(error.contains("database.min_connections"), "{error}");
            Ok(())
        });
    }
}
