//! Typed, layered configuration, loaded once in `main` and passed down by value.
//!
//! Layers, later wins: the `config/default.toml` compiled into the binary, the same file on
//! disk, `config/<APP_ENV>.toml`, then environment variables `APP__<SECTION>__<KEY>`
//! (`APP__DATABASE__URL`), then files named by `APP__<SECTION>__<KEY>_FILE` (secrets mounted by
//! Kubernetes or Docker: `APP__AUTH__HS256_SECRET_FILE=/run/secrets/jwt`). Each adapter owns
//! its section's type; this module assembles them and checks what no section can alone.

use std::path::{Path, PathBuf};

use adapter_flags::FlagSettings;
use adapter_http::HttpSettings;
use adapter_http::auth::AuthSettings;
{% if graphql %}use adapter_http::graphql::GraphqlSettings;
{% endif %}use adapter_http::rate_limit::RateLimitSettings;
use adapter_memory::MemoryCacheSettings;
{% if messaging == "nats" %}use adapter_nats::MessagingSettings;
{% endif %}use adapter_postgres::PostgresSettings;
{% if messaging == "rabbitmq" %}use adapter_rabbitmq::MessagingSettings;
{% endif -%}
{% if cache == "redis" %}use adapter_redis::{RedisCacheSettings, RedisSettings};
{% endif -%}
{% if database == "postgres+sqlite" %}use adapter_sqlite::SqliteSettings;
{% endif %}use adapter_webhook::WebhookSettings;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};
use telemetry::TelemetrySettings;

/// The defaults, compiled in so the binary runs with no config files at all (containers
/// configured only by environment variables).
const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP server: bind address, limits, timeouts.
    pub http: HttpSettings,
    /// PostgreSQL: URL and pool (no URL: the embedded SQLite database, where there is one).
    pub database: PostgresSettings,
{% if database == "postgres+sqlite" %}    /// The embedded SQLite database, used when `database.url` is empty.
    pub sqlite: SqliteSettings,
{% endif -%}
{% if cache == "redis" %}    /// Redis: URL and timeouts.
    pub redis: RedisSettings,
{% endif %}    /// Caching: which backend, and its knobs.
    pub cache: CacheSettings,
    /// Outbound webhooks for item events.
    pub webhook: WebhookSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// Bearer tokens (when the service checks them), and who may read docs, metrics and health.
    pub auth: AuthSettings,
    /// Per-principal and per-IP request budgets.
    pub rate_limit: RateLimitSettings,
    /// Feature flags: their rules, and a file re-read while the service runs.
    pub flags: FlagSettings,
{% if graphql %}    /// GraphQL's query limits and introspection.
    pub graphql: GraphqlSettings,
{% endif -%}
{% if messaging != "none" %}    /// The broker, the outbox relay and the example consumer.
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
#[derive(Debug, Clone, Deserialize, Serialize)]
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

    /// Each section is checked by the crate that owns it; this adds which servers it runs on.
    fn validate(&self, environment: &str) -> Result<(), ConfigError> {
        let checks = [
            self.http.validate(environment),
            self.auth.validate(environment),
            self.rate_limit.validate(),
            self.flags.validate(),
            self.database.validate(environment),
{% if database == "postgres+sqlite" %}            self.sqlite.validate(),
{% endif -%}
{% if cache == "redis" %}            self.redis.validate(),
            self.cache.redis.validate(),
{% endif %}            self.webhook.validate(environment),
{% if graphql %}            self.graphql.validate(),
{% endif -%}
{% if messaging != "none" %}            self.messaging.validate(environment),
{% endif %}        ];
        checks
            .into_iter()
            .collect::<Result<Vec<()>, String>>()
            .map_err(ConfigError::Invalid)?;
        self.validate_servers(environment)
    }

    /// Production runs on the servers, never on the development fallbacks: the database and,
    /// where the service has one, Redis must be configured.
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
{% endif -%}
{% if cache == "redis" %}        if production && self.redis.url.is_empty() {
            return Err(ConfigError::Invalid(
                "APP_ENV=production needs Redis: set redis.url (APP__REDIS__URL); the \
                 in-process cache would let replicas serve each other's stale copies"
                    .to_owned(),
            ));
        }
{% endif %}        Ok(())
    }

    /// The configuration as JSON for `config` and logs: secrets are `secrets::Secret` or
    /// `SecretUrl`, which serialise masked, so nothing here needs to list them.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
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

#[cfg(test)]
// figment::Jail fixes the closures' error type (figment::Error, which is large); not ours to box.
#[allow(clippy::result_large_err)]
mod tests;
