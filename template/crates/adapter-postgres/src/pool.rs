//! Builds the connection pool from typed settings. Every knob a production database needs is a
//! setting here, so operators tune the pool in configuration rather than in code.

use std::time::{Duration, Instant};

use secrets::{Secret, SecretUrl};
use serde::{Deserialize, Serialize};
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// PostgreSQL settings, the `[database]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// Connection URL of the primary. Holds the password: it is redacted when printed.
    pub url: SecretUrl,
    /// Connection URL of a read replica. When set, reads that can tolerate replication lag go
    /// there; writes always go to the primary.
    #[serde(default)]
    pub read_url: Option<SecretUrl>,
    /// Upper bound on open connections; with several replicas of the service, their sum must
    /// stay under the server's `max_connections`.
    pub max_connections: u32,
    /// Connections kept open even when idle, so the first requests after a quiet spell are fast.
    pub min_connections: u32,
    /// How long a request waits for a free connection before failing.
    pub acquire_timeout_ms: u64,
    /// Idle connections above `min_connections` are closed after this long.
    pub idle_timeout_secs: u64,
    /// Connections are recycled after this long, so server-side changes (failover, config) reach
    /// every connection.
    pub max_lifetime_secs: u64,
    /// The server cancels any statement running longer than this.
    pub statement_timeout_ms: u64,
    /// Create the database when it does not exist (development convenience; off in production).
    pub create_database: bool,
    /// Apply pending migrations when `serve` starts (off in production, where a job runs them).
    pub migrate_on_start: bool,
    /// Keys sealing sensitive columns: `id:base64key[,id:base64key...]`, 32 random bytes each
    /// (`openssl rand -base64 32`). The first seals new values; all of them open old ones. A
    /// secret: redacted when printed; production refuses the development key.
    pub encryption_keys: Secret,
}

/// The `database.encryption_keys` shipped in `config/default.toml`: public, so refused in
/// production (data sealed with it is as good as plaintext).
pub const DEVELOPMENT_ENCRYPTION_KEYS: &str = "dev:ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMhISE=";

impl PostgresSettings {
    /// Checks the settings as loaded for `environment` (whether a URL is needed at all is the
    /// composition root's to say: it knows whether the service has another database).
    ///
    /// # Errors
    /// A message naming the setting: the development encryption key in production, keys that
    /// do not parse, pool sizes that cannot work, a zero timeout.
    pub fn validate(&self, environment: &str) -> Result<(), String> {
        if environment == "production"
            && self.encryption_keys.expose() == DEVELOPMENT_ENCRYPTION_KEYS
        {
            return Err(
                "database.encryption_keys still has the development key; set \
                 APP__DATABASE__ENCRYPTION_KEYS(_FILE)"
                    .to_owned(),
            );
        }
        field_cipher::FieldCipher::from_config(self.encryption_keys.expose())
            .map_err(|error| error.to_string())?;
        if self.max_connections == 0 {
            return Err("database.max_connections must be at least 1".to_owned());
        }
        if self.min_connections > self.max_connections {
            return Err(format!(
                "database.min_connections ({}) must not exceed database.max_connections ({})",
                self.min_connections, self.max_connections
            ));
        }
        for (key, value) in [
            ("database.acquire_timeout_ms", self.acquire_timeout_ms),
            ("database.statement_timeout_ms", self.statement_timeout_ms),
        ] {
            if value == 0 {
                return Err(format!("{key} must be greater than 0"));
            }
        }
        Ok(())
    }
}

/// The pools the service uses: the primary, and a read replica when one is configured.
#[derive(Debug, Clone)]
pub struct PostgresPools {
    /// The primary: all writes, and reads that must see them.
    pub primary: PgPool,
    /// A read replica, when configured.
    pub replica: Option<PgPool>,
}

impl PostgresPools {
    /// Builds the pools without connecting: connections open on first use, so the service can
    /// start (and report "not ready") while the database is still coming up.
    ///
    /// `application_name` shows in `pg_stat_activity`, so a DBA can tell which service holds
    /// a connection.
    ///
    /// # Errors
    /// When the URL cannot be parsed.
    pub fn connect_lazy(
        settings: &PostgresSettings,
        application_name: &str,
    ) -> Result<Self, sqlx::Error> {
        let lazy_pool = |url: &str| -> Result<PgPool, sqlx::Error> {
            let options: PgConnectOptions = url.parse()?;
            let options = with_session_settings(options, settings, application_name);
            Ok(pool_options(settings).connect_lazy_with(options))
        };
        Ok(Self {
            primary: lazy_pool(settings.url.expose())?,
            replica: settings
                .read_url
                .as_ref()
                .map(|url| lazy_pool(url.expose()))
                .transpose()?,
        })
    }

    /// Pools around one existing pool and no replica (tests build their own database).
    #[must_use]
    pub fn single(primary: PgPool) -> Self {
        Self {
            primary,
            replica: None,
        }
    }

    /// Where reads go: the replica when there is one, else the primary.
    #[must_use]
    pub fn reader(&self) -> &PgPool {
        self.replica.as_ref().unwrap_or(&self.primary)
    }

    /// The primary, with its connection waits measured.
    #[must_use]
    pub fn metered_primary(&self) -> MeteredPool {
        MeteredPool {
            pool: self.primary.clone(),
            name: "primary",
        }
    }

    /// The reader (replica or primary), with its connection waits measured.
    #[must_use]
    pub fn metered_reader(&self) -> MeteredPool {
        MeteredPool {
            pool: self.reader().clone(),
            name: if self.replica.is_some() {
                "replica"
            } else {
                "primary"
            },
        }
    }

    /// Sets the connection-pool gauges (OTel's `db.client.connections.*`), for `/metrics`.
    pub fn record_metrics(&self) {
        let pools = std::iter::once(("primary", &self.primary))
            .chain(self.replica.iter().map(|replica| ("replica", replica)));
        for (name, pool) in pools {
            let (size, idle) = (
                pool.size(),
                u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            );
            metrics::gauge!("db_client_connections_usage", "pool" => name, "state" => "idle")
                .set(f64::from(idle));
            metrics::gauge!("db_client_connections_usage", "pool" => name, "state" => "used")
                .set(f64::from(size.saturating_sub(idle)));
            metrics::gauge!("db_client_connections_max", "pool" => name)
                .set(f64::from(pool.options().get_max_connections()));
        }
    }

    /// Closes every pool, waiting for checked-out connections to come back.
    pub async fn close(&self) {
        self.primary.close().await;
        if let Some(replica) = &self.replica {
            replica.close().await;
        }
    }
}

fn pool_options(settings: &PostgresSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .idle_timeout(Some(Duration::from_secs(settings.idle_timeout_secs)))
        .max_lifetime(Some(Duration::from_secs(settings.max_lifetime_secs)))
}

fn with_session_settings(
    options: PgConnectOptions,
    settings: &PostgresSettings,
    application_name: &str,
) -> PgConnectOptions {
    let statement_timeout = format!("{}ms", settings.statement_timeout_ms);
    options
        .application_name(application_name)
        .options([("statement_timeout", statement_timeout.as_str())])
}

/// A pool whose callers are counted while they wait for a connection: the
/// `db_client_connection_pending_requests` gauge (how many wait right now, OTel's
/// `db.client.connection.pending_requests`) and the `db_client_connection_wait_time_seconds`
/// histogram. A pool too small for the load shows there first, before acquire timeouts.
/// Repositories take connections through it rather than handing the pool to sqlx.
#[derive(Debug, Clone)]
pub struct MeteredPool {
    pool: PgPool,
    name: &'static str,
}

impl MeteredPool {
    /// A connection, after waiting for one if the pool is exhausted.
    ///
    /// # Errors
    /// When no connection frees up within `database.acquire_timeout_ms`, or none can be opened.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let waiting = Waiting::start(self.name);
        let started = Instant::now();
        let connection = self.pool.acquire().await;
        drop(waiting);
        metrics::histogram!("db_client_connection_wait_time_seconds", "pool" => self.name)
            .record(started.elapsed().as_secs_f64());
        connection
    }
}

/// One waiter on the pending gauge; dropping it (also when the request is cancelled mid-wait)
/// takes it off again.
struct Waiting(metrics::Gauge);

impl Waiting {
    fn start(pool: &'static str) -> Self {
        let gauge = metrics::gauge!("db_client_connection_pending_requests", "pool" => pool);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
