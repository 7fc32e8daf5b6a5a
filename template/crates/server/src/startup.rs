//! Builds the application from configuration and runs it until told to stop.
//!
//! This is where concrete adapters meet: the database (see [`Storage`]), the cache (Redis, or
//! this process's memory), the HTTP router. Tests build the same [`Application`] with a database of their
//! own and port 0, so what they exercise is what production runs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

{% if example %}use adapter_flags::OpenFeatureFlags;
{% endif %}use adapter_http::cursor::CursorCodec;
use adapter_http::rate_limit::RateLimits;
use adapter_http::{AccessGuard, AppState, MetricsEndpoint, router};
{% if example %}use adapter_memory::resources::MemoryItemCache;
{% endif -%}
{% if cache == "redis" -%}
{% if example %}use adapter_redis::Breaker;
use adapter_redis::resources::RedisItemCache;
{% endif %}use adapter_redis::{RedisConnection, RedisProbe};
{% endif -%}
{% if example %}use adapter_webhook::Webhook;
use adapter_webhook::resources::WebhookItemNotifier;
{% endif %}
use anyhow::Context;
use domain::health::DependencyProbe;
{% if example %}use domain::items::{ItemCache, ItemService};
use domain::tenants::TenantService;
use field_cipher::FieldCipher;
{% endif %}use telemetry::Metrics;
use tokio::net::TcpListener;
use tokio::sync::watch;

{% if example and cache == "redis" %}use crate::config::CacheBackend;
{% endif %}use crate::config::Settings;
use crate::identity::SERVICE_NAME;
{% if messaging != "none" %}use crate::messaging::Messaging;
{% endif -%}
{% if example %}use crate::runtime::TokioSpawner;
{% endif %}use crate::storage::Storage;

/// A bound, ready-to-run service.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    storage: Storage,
{% if messaging != "none" %}    messaging: Messaging,
{% endif %}    shutdown_timeout: Duration,
}

impl Application {
    /// Opens the configured database (see [`Storage`]), migrates when configured, and binds
    /// the listener.
    ///
    /// # Errors
    /// When a URL is malformed, the database cannot be created or migrated, or the port is taken.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let storage = Storage::open(&settings, true).await?;
        if settings.database.migrate_on_start {
            storage.migrate_up().await?;
        }
        Self::with_storage(settings, storage).await
    }

    /// Builds around a database opened elsewhere (tests pass a fresh one per test).
    ///
    /// # Errors
    /// When a URL or key is malformed or the port is taken.
    pub async fn with_storage(
        settings: Settings,
        storage: impl Into<Storage>,
    ) -> anyhow::Result<Self> {
        let storage = storage.into();
        let state = app_state(&settings, &storage).await?;
        let address = format!("{}:{}", settings.http.host, settings.http.port);
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("cannot listen on {address} (http.host, http.port)"))?;
{% if messaging != "none" %}        // The outbox is PostgreSQL's (the generator allows messaging with database=postgres only).
        let Storage::Postgres(pools) = &storage;
        let messaging = Messaging::start(&settings.messaging, pools, SERVICE_NAME);
{% endif %}        Ok(Self {
            listener,
            router: router(state),
            storage,
{% if messaging != "none" %}            messaging,
{% endif %}            shutdown_timeout: Duration::from_millis(settings.http.shutdown_timeout_ms),
        })
    }

    /// The address actually bound (useful with port 0).
    ///
    /// # Errors
    /// When the socket cannot report its address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests finish
    /// for up to `http.shutdown_timeout_ms`, and closes the database.
    ///
    /// # Errors
    /// When the server fails while running.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (draining_tx, mut draining_rx) = watch::channel(false);
        // The peer address reaches the rate limiter (per-IP budgets for anonymous callers).
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = draining_tx.send(true);
        });
        let mut server = tokio::spawn(serve.into_future());
        tokio::select! {
            joined = &mut server => {
                joined.context("the server task panicked")?.context("the server failed")?;
{% if messaging != "none" %}                self.messaging.stop(self.shutdown_timeout).await;
{% endif %}            }
            _ = draining_rx.changed() => {
                tracing::info!(timeout_ms = self.shutdown_timeout.as_millis(), "shutting down: draining in-flight requests");
                let budget = self.shutdown_timeout;
                let drain = async {
                    match tokio::time::timeout(budget, &mut server).await {
                        Ok(joined) => joined.context("the server task panicked")?.context("the server failed")?,
                        Err(_) => {
                            tracing::warn!("drain timeout reached: abandoning the requests still running");
                            server.abort();
                        }
                    }
                    Ok::<(), anyhow::Error>(())
                };
{% if messaging != "none" %}                // Messaging stops beside the drain, within the same budget: one after the other
                // they could outlast the orchestrator's grace period (preStop + one budget).
                let (drained, ()) = tokio::join!(drain, self.messaging.stop(budget));
{% else %}                let drained = drain.await;
{% endif %}                drained?;
            }
        }
        self.storage.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// What the handlers share: the use cases over the configured adapters (database, cache,
/// webhooks), the probes, the metrics and the access guard. `serve` routes requests to it;
/// commands that act through the use cases without serving (`seed`) build the same.
///
/// # Errors
/// When a URL or key is malformed.
pub async fn app_state(settings: &Settings, storage: &Storage) -> anyhow::Result<AppState> {
    // The recorder first: what the adapters built below record at their start is kept.
    let exposition = Metrics::global(SERVICE_NAME, env!("CARGO_PKG_VERSION"));
{% if cache == "redis" %}    // No redis.url (a new checkout): the in-process cache, and no Redis to probe.
    let redis = if settings.redis.url.is_empty() {
        tracing::info!("no redis.url: caching in this process's memory");
        None
    } else {
        Some(
            RedisConnection::connect_lazy(&settings.redis)
                .context("redis.url is not a valid Redis URL")?,
        )
    };
    let redis_probe = redis
        .as_ref()
        .map(|redis| RedisProbe::new(redis.clone(), settings.http.probe_timeout()));
{% endif -%}
{% if example %}    let cipher = FieldCipher::from_config(settings.database.encryption_keys.expose())?;
{% if cache == "redis" %}    let (item_cache, redis_probe): (Arc<dyn ItemCache>, _) =
        match (redis, redis_probe, settings.cache.backend) {
            (Some(redis), Some(probe), CacheBackend::Redis) => {
                let breaker = Breaker::new(
                    &settings.cache.redis.breaker,
                    Duration::from_millis(settings.redis.command_timeout_ms),
                );
                let cache = RedisItemCache::new(redis, breaker.clone(), &settings.cache.redis);
                (Arc::new(cache), Some(probe.with_breaker(breaker)))
            }
            (_, probe, _) => (
                Arc::new(MemoryItemCache::new(&settings.cache.memory)),
                probe,
            ),
        };
{% else %}    // One replica's own memory: the `cache` option chose no Redis for this service.
    let item_cache: Arc<dyn ItemCache> = Arc::new(MemoryItemCache::new(&settings.cache.memory));
{% endif %}    let webhook =
        Webhook::start(&settings.webhook).context("webhook: cannot build the HTTP client")?;
    let flags = OpenFeatureFlags::start(&settings.flags).await;
{% endif -%}
{% if cache == "redis" %}    let mut probes: Vec<Arc<dyn DependencyProbe>> = vec![storage.probe()];
    if let Some(redis_probe) = redis_probe {
        probes.push(Arc::new(redis_probe));
    }
{% else %}    let probes: Vec<Arc<dyn DependencyProbe>> = vec![storage.probe()];
{% endif %}
    let pool_gauges = storage.clone();
    let metrics = MetricsEndpoint {
        metrics: exposition,
        collectors: Arc::new([
            Arc::new(move || pool_gauges.record_metrics()) as Arc<dyn Fn() + Send + Sync>
        ]),
    };
    let access = AccessGuard::new(&settings.auth, &settings.rate_limit)?;
    forget_idle_callers(access.limits.clone());
    Ok(AppState {
        settings: Arc::new(settings.http.clone()),
        cursors: CursorCodec::new(settings.http.cursor_secret.expose().as_bytes()),
        access,
{% if graphql %}        graphql: settings.graphql.clone(),
{% endif %}        probes: probes.into(),
        metrics,
{% if example %}        items: ItemService::new(
            storage.items(cipher),
            item_cache,
            Arc::new(WebhookItemNotifier::new(webhook)),
            Arc::new(flags),
            Arc::new(TokioSpawner),
        ),
        tenants: TenantService::new(storage.tenants(), Arc::new(TokioSpawner)),
{% endif %}    })
}

/// Drops the rate-limit state of callers that went quiet, once a minute, so a scan from many
/// addresses does not grow memory for good. Ends with the runtime.
fn forget_idle_callers(limits: RateLimits) {
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            limits.forget_idle();
        }
    });
}

/// Completes on SIGTERM (orchestrators) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
