//! Start the real application on port 0 against a database of the test's own, and talk to it
//! over a real socket. Also a TCP proxy that a test can cut and restore, to take a real
//! dependency away without stopping the server everyone else uses.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use adapter_postgres::PostgresPools;
use service::config::{Settings, Sources};
use service::startup::Application;
use sqlx::PgPool;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Installs telemetry once per test binary, as `serve` does, so spans carry trace ids.
fn install_telemetry(settings: &Settings) {
    static GUARD: OnceLock<Option<telemetry::TelemetryGuard>> = OnceLock::new();
    GUARD.get_or_init(|| {
        let identity = telemetry::ServiceIdentity {
            name: "test",
            version: "0",
            environment: "test".to_owned(),
        };
        telemetry::init(&settings.telemetry, &identity).ok()
    });
}

/// The `test` configuration from the workspace's `config/`, with `REDIS_URL` honoured.
pub fn test_settings() -> Settings {
    let sources = Sources {
        environment: "test".to_owned(),
        directory: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config")),
    };
    let mut settings = Settings::load(&sources).expect("the test configuration loads");
    if let Ok(url) = std::env::var("REDIS_URL") {
        settings.redis.url = url;
    }
    settings.http.host = "127.0.0.1".to_owned();
    settings.http.port = 0;
    settings
}

/// `DATABASE_URL` (user, password, options kept) pointed at another database and, optionally,
/// another `host:port`: how tests reach their own database, directly or through a proxy.
pub fn database_url(database: &str, host_port: Option<&str>) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned());
    let (scheme, rest) = base.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let query = path
        .split_once('?')
        .map(|(_, query)| format!("?{query}"))
        .unwrap_or_default();
    let authority = match (host_port, authority.rsplit_once('@')) {
        (Some(host_port), Some((userinfo, _))) => format!("{userinfo}@{host_port}"),
        (Some(host_port), None) => host_port.to_owned(),
        (None, _) => authority.to_owned(),
    };
    format!("{scheme}://{authority}/{database}{query}")
}

/// A running application and a client for it.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Starts the application over `pool` with the test settings.
    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(test_settings(), PostgresPools::single(pool)).await
    }

    /// Starts the application with explicit settings and pools.
    pub async fn spawn_with(settings: Settings, pools: PostgresPools) -> Self {
        install_telemetry(&settings);
        let application = Application::with_pools(settings, pools).await.unwrap();
        let address = application.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(application.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            base_url: format!("http://{address}"),
            client: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// The value of one series on `/metrics` (`name{label="value",...}`, labels in any order),
    /// or 0 when it is absent.
    pub async fn metric(&self, series: &str) -> f64 {
        let wanted = parse_series(series);
        let body = self.get("/metrics").await.text().await.unwrap();
        body.lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                (parse_series(series) == wanted).then(|| value.parse().ok())?
            })
            .unwrap_or(0.0)
    }

    /// Sends the shutdown signal and waits for the drain to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap()
    }
}

/// A series' name and its labels, sorted, so label order does not matter.
fn parse_series(series: &str) -> (String, Vec<String>) {
    let (name, labels) = series.split_once('{').unwrap_or((series, ""));
    let mut labels: Vec<String> = labels
        .trim_end_matches('}')
        .split(',')
        .filter(|label| !label.is_empty())
        .map(str::to_owned)
        .collect();
    labels.sort();
    (name.to_owned(), labels)
}

/// Forwards a local port to a target; `cut` drops every connection and refuses new ones,
/// `restore` lets them through again. The dependency behind it is real; only the path breaks.
pub struct TcpProxy {
    pub address: SocketAddr,
    open: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let (generation, _) = tokio::sync::watch::channel(0_u64);
        let generation = Arc::new(generation);
        let (accepting, cuts) = (Arc::clone(&open), Arc::clone(&generation));
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !accepting.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self {
            address,
            open,
            generation,
        }
    }

    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.generation.send_modify(|generation| *generation += 1);
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}
