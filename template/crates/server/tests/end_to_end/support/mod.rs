//! Start the real application on port 0 against a database of the test's own, and talk to it
//! over a real socket. Also a TCP proxy that a test can cut and restore, to take a real
//! dependency away without stopping the server everyone else uses.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
{% if auth == "jwt" %}use std::time::Duration;
{% endif %}
{% if auth == "jwt" %}use adapter_http::auth::{AuthSettings, DevelopmentToken};
{% endif -%}
use adapter_postgres::PostgresPools;
{% if auth == "jwt" %}use domain::auth::Role;
{% endif %}use opentelemetry_sdk::trace::InMemorySpanExporter;
use service::config::{Settings, Sources};
use service::startup::Application;
use service::storage::Storage;
use sqlx::PgPool;
{% if example %}use tokio::io::AsyncWriteExt;
{% endif -%}
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Installs telemetry once for this test binary, as `serve` does, so spans carry trace ids;
/// spans go to an in-memory exporter instead of OTLP, where `tracing.rs` reads them.
fn install_telemetry(settings: &Settings) {
    exported_spans_with(settings);
}

/// Every span the applications of this test binary finished, as an OTLP collector would
/// have received them.
pub fn exported_spans() -> &'static InMemorySpanExporter {
    exported_spans_with(&test_settings())
}

fn exported_spans_with(settings: &Settings) -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let identity = telemetry::ServiceIdentity {
            name: "test",
            version: "0",
            environment: "test".to_owned(),
        };
        let guard = telemetry::init_with_exporter(&settings.telemetry, &identity, exporter.clone())
            .unwrap();
        // The provider must live as long as the process; dropping the guard would stop it.
        std::mem::forget(guard);
        exporter
    })
}

/// The `test` configuration from the workspace's `config/`, with `REDIS_URL` honoured where the
/// service uses Redis.
pub fn test_settings() -> Settings {
    let sources = Sources {
        environment: "test".to_owned(),
        directory: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config")),
    };
    let mut settings = Settings::load(&sources).expect("the test configuration loads");
{% if cache == "redis" %}    if let Ok(url) = std::env::var("REDIS_URL") {
        settings.redis.url = secrets::SecretUrl::new(url);
    }
{% endif %}    settings.http.host = "127.0.0.1".to_owned();
    settings.http.port = 0;
    settings
}

{% if example %}/// The test settings, with a cache that forgets after a second (so a test can make the next
/// read a miss, served by the database) and no rate limits (so a storm of requests is served).
pub fn forgetful_settings() -> Settings {
    let mut settings = test_settings();
    settings.cache.memory.ttl_secs = 1;
{% if cache == "redis" %}    settings.cache.redis.ttl_secs = 1;
{% endif %}    settings.rate_limit.enabled = false;
    settings
}

/// Longer than any entry of [`forgetful_settings`] lives (TTL plus its jitter).
pub const CACHE_FORGETS: std::time::Duration = std::time::Duration::from_millis(1500);

/// The `backend` label of the item cache's series on `/metrics`.
pub const CACHE_BACKEND: &str = "{{cache}}";

{% endif %}/// Points a command of the binary at the dependencies the tests use (`REDIS_URL` where the
/// service uses Redis), as `test_settings` does for an application in the test process.
{% if cache == "redis" %}pub fn with_dependencies(command: &mut std::process::Command) {
    command.env(
        "APP__REDIS__URL",
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
    );
}
{% else %}pub fn with_dependencies(_command: &mut std::process::Command) {
    // Nothing but PostgreSQL, whose URL each test passes itself.
}
{% endif %}
{% if database == "postgres+sqlite" or cache == "redis" %}/// The settings production insists on besides its servers, so that a test of a refusal about a
/// server is refused for that server.
pub const PRODUCTION_REQUIRED: &[(&str, &str)] = &[
    (
        "APP__HTTP__CURSOR_SECRET",
        "a-production-cursor-secret-0123456789abcdef",
    ),
    (
        "APP__DATABASE__ENCRYPTION_KEYS",
        "prod1:cHJvZHVjdGlvbi1rZXktZnJvbS1hLXZhdWx0LTMyYiE=",
    ),
{% if auth == "jwt" %}    ("APP__AUTH__JWKS_URL", "https://id.example.com/jwks.json"),
{% endif -%}
{% if messaging == "rabbitmq" %}    ("APP__MESSAGING__URL", "amqp://events.internal:5672/%2f"),
{% endif -%}
{% if messaging == "nats" %}    ("APP__MESSAGING__URL", "nats://events.internal:4222"),
{% endif %}];

{% endif -%}
{% if example and database == "postgres+sqlite" and auth == "jwt" %}/// What a caller of the binary sends to act as `role` of `tenant`: a development token from the
/// `token` subcommand, run as `command`, as the README shows.
pub fn development_credentials(
    mut command: std::process::Command,
    tenant: &str,
    role: &str,
) -> reqwest::header::HeaderMap {
    let (output, stdout, stderr) = run(command.args(["token", "--tenant", tenant, "--role", role]));
    assert!(output.status.success(), "{stderr}");
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {}", stdout.trim());
    headers.insert(reqwest::header::AUTHORIZATION, bearer.parse().unwrap());
    headers
}

{% endif -%}
{% if example and database == "postgres+sqlite" and auth == "none" %}/// What a caller of the binary sends to act as `role` of `tenant`: nothing, with `auth=none`.
pub fn development_credentials(
    _command: std::process::Command,
    _tenant: &str,
    _role: &str,
) -> reqwest::header::HeaderMap {
    reqwest::header::HeaderMap::new()
}

{% endif -%}
/// Runs a command of the binary to completion: its status, stdout and stderr.
pub fn run(command: &mut std::process::Command) -> (std::process::Output, String, String) {
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// Sends SIGTERM to a child, as an orchestrator stopping it would.
pub fn sigterm(child: &std::process::Child) {
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {pid}: {sent}");
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

{% if auth == "jwt" %}/// `Bearer <token>` for `tenant` with `roles`, signed with the configured HS256 secret.
pub fn bearer(auth: &AuthSettings, tenant: &str, roles: &[Role]) -> String {
    let token = DevelopmentToken {
        subject: "tester".to_owned(),
        tenant: tenant.parse().unwrap(),
        roles: roles.to_vec(),
        lifetime: Duration::from_secs(600),
    }
    .mint(auth)
    .unwrap();
    format!("Bearer {token}")
}

/// The tenant a URL is about (`.../tenants/{id}/...`), if any.
fn tenant_in(url: &str) -> Option<&str> {
    let rest = url.split("/tenants/").nth(1)?;
    let id = rest.split(['/', '?']).next()?;
    id.parse::<uuid::Uuid>().ok().map(|_| id)
}

/// The platform operator's tenant in tests: the tenant a token names when the path names none.
pub const PLATFORM_TENANT: &str = "0190f5d2-7e1c-7000-8000-0000000000ff";

/// How the service answers a caller without credentials: 401, it must bring a token.
pub const ANONYMOUS_ADMITTED: reqwest::StatusCode = reqwest::StatusCode::UNAUTHORIZED;

/// A reqwest client that sends what a well-behaved caller sends: a token of an admin of the
/// tenant in the path, or of a platform admin (who creates tenants) elsewhere. Tests about
/// authentication itself use `TestApp::anonymous` and set their own header.
{% else %}/// How the service answers a caller without credentials: with `auth=none` every caller is
/// anonymous and served.
pub const ANONYMOUS_ADMITTED: reqwest::StatusCode = reqwest::StatusCode::OK;

/// A reqwest client for the API. With `auth=none` a well-behaved caller sends no credentials,
/// so it adds nothing; it stays so that tests read the same in every variant.
{% endif %}pub struct ApiClient {
    inner: reqwest::Client,
{% if auth == "jwt" %}    /// Signs the tokens it adds.
    auth: AuthSettings,
{% endif %}}

impl ApiClient {
    pub fn request(
        &self,
        method: reqwest::Method,
        url: impl AsRef<str>,
    ) -> reqwest::RequestBuilder {
        let url = url.as_ref();
{% if auth == "jwt" %}        let token = match tenant_in(url) {
            Some(tenant) => bearer(&self.auth, tenant, &[Role::Admin]),
            None => bearer(
                &self.auth,
                PLATFORM_TENANT,
                &[Role::PlatformAdmin, Role::Operator],
            ),
        };
        self.inner
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, token)
{% else %}        self.inner.request(method, url)
{% endif %}    }

    pub fn get(&self, url: impl AsRef<str>) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, url)
    }

    pub fn post(&self, url: impl AsRef<str>) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, url)
    }
{% if example %}
    pub fn patch(&self, url: impl AsRef<str>) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PATCH, url)
    }

    pub fn delete(&self, url: impl AsRef<str>) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::DELETE, url)
    }
{% endif %}}

/// A running application and a client for it.
pub struct TestApp {
    pub base_url: String,
    pub client: ApiClient,
    /// A client that adds nothing: for tests of authentication and anonymous endpoints.
    pub anonymous: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Starts the application over `pool` with the test settings.
    pub async fn spawn(pool: PgPool) -> Self {
        Self::spawn_with(test_settings(), PostgresPools::single(pool)).await
    }

    /// Starts the application with explicit settings and database (PostgreSQL pools, or a
    /// SQLite store with the embedded default).
    pub async fn spawn_with(settings: Settings, storage: impl Into<Storage>) -> Self {
        install_telemetry(&settings);
{% if auth == "jwt" %}        let auth = settings.auth.clone();
{% endif %}        let application = Application::with_storage(settings, storage).await.unwrap();
        let address = application.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(application.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            base_url: format!("http://{address}"),
            client: ApiClient {
                inner: reqwest::Client::new(),
{% if auth == "jwt" %}                auth,
{% endif %}            },
            anonymous: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

{% if auth == "jwt" %}    /// `Bearer <token>` for `tenant` with `roles`.
    pub fn bearer(&self, tenant: &str, roles: &[Role]) -> String {
        bearer(&self.client.auth, tenant, roles)
    }

{% endif -%}
{% if example %}    /// Creates a tenant as the platform admin; returns its id.
    pub async fn create_tenant(&self, name: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/tenants"))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        let tenant: serde_json::Value = response.json().await.unwrap();
        tenant["id"].as_str().unwrap().to_owned()
    }

    /// Creates an item named `name` in `tenant` as its admin; returns its `Location`.
    pub async fn create_item(&self, tenant: &str, name: &str) -> String {
        let created = self
            .client
            .post(self.url(&format!("/api/v1/tenants/{tenant}/items")))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), reqwest::StatusCode::CREATED);
        created.headers()["location"].to_str().unwrap().to_owned()
    }

{% endif %}    pub async fn get(&self, path: &str) -> reqwest::Response {
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
{% if example %}
    /// Sends `GET path`, with the headers [`ApiClient`] would send, on a connection of its own,
    /// and returns that connection without reading the answer: a request in flight that the
    /// test can abandon with [`cut`].
    pub async fn start_get(&self, path: &str) -> TcpStream {
        let address = self.base_url.trim_start_matches("http://");
        let request = self.client.get(self.url(path)).build().unwrap();
        let mut head = format!("GET {path} HTTP/1.1\r\nhost: {address}\r\n");
        for (name, value) in request.headers() {
            head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
        }
        head.push_str("\r\n");
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
    }
{% endif %}
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

{% if example or auth == "jwt" %}/// Abandons a request the way a client that gives up does: the connection is reset at once,
/// whatever the service was doing with it.
pub fn cut(stream: TcpStream) {
    stream.set_zero_linger().unwrap();
    drop(stream);
}

{% endif -%}
{% if example %}/// The database a test's application runs on: the example API's tests run once on each
/// (PostgreSQL, and the embedded SQLite file a new checkout uses where the service has one),
/// and must pass on every one.
pub enum TestStore {
    Postgres(PgPool),
{% if database == "postgres+sqlite" %}    Sqlite(adapter_sqlite::SqliteStore),
{% endif %}}

impl TestStore {
{% if database == "postgres+sqlite" %}    /// A fresh, migrated SQLite file under Cargo's scratch folder for integration tests.
    pub async fn sqlite() -> Self {
        let settings = adapter_sqlite::SqliteSettings {
            path: format!(
                "{}/sqlite-{}/data/service.db",
                env!("CARGO_TARGET_TMPDIR"),
                uuid::Uuid::new_v4().simple()
            ),
            ..test_settings().sqlite
        };
        let store = adapter_sqlite::SqliteStore::open(&settings).await.unwrap();
        adapter_sqlite::SqliteMigrations::up(&store).await.unwrap();
        Self::Sqlite(store)
    }

{% endif %}    /// The database as the application takes it.
    pub fn storage(&self) -> Storage {
        match self {
            Self::Postgres(pool) => PostgresPools::single(pool.clone()).into(),
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => store.clone().into(),
{% endif %}        }
    }

    /// Starts the application on this database with the test settings.
    pub async fn spawn(&self) -> TestApp {
        TestApp::spawn_with(test_settings(), self.storage()).await
    }

    /// Starts the application on this database with `settings`.
    pub async fn spawn_with(&self, settings: Settings) -> TestApp {
        TestApp::spawn_with(settings, self.storage()).await
    }

    /// Takes every connection that single reads use, so they wait until the returned value is
    /// dropped: reads caught in flight, for tests of what a cancelled read leaves behind.
    pub async fn hold_reads(&self) -> Box<dyn std::any::Any + Send> {
        match self {
            Self::Postgres(pool) => {
                let mut held = Vec::new();
                for _ in 0..pool.options().get_max_connections() {
                    held.push(pool.acquire().await.unwrap());
                }
                Box::new(held)
            }
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => {
                let mut held = Vec::new();
                for _ in 0..store.reader().options().get_max_connections() {
                    held.push(store.reader().acquire().await.unwrap());
                }
                Box::new(held)
            }
{% endif %}        }
    }

    /// Whether every connection the application opened is back in its pool, idle (waits a
    /// few seconds for ones still on their way back).
    pub async fn idle(&self) -> bool {
        for _ in 0..500 {
            let idle = match self {
                Self::Postgres(pool) => pool.num_idle() == pool.size() as usize,
{% if database == "postgres+sqlite" %}                Self::Sqlite(store) => [store.reader(), store.writer()]
                    .iter()
                    .all(|pool| pool.num_idle() == pool.size() as usize),
{% endif %}            };
            if idle {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        false
    }

    /// The rows of `table`, read from the database itself (no cache in between).
    pub async fn count(&self, table: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"));
        match self {
            Self::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => sqlx::query_scalar(sql)
                .fetch_one(store.reader())
                .await
                .unwrap(),
{% endif %}        }
    }
}

/// Declares each test below once per database: `postgres::<test>` with a fresh PostgreSQL
/// database, and, with the embedded default, `sqlite::<test>` with a fresh SQLite file. Each
/// test is an `async fn(TestStore)` in the calling module.
macro_rules! on_every_database {
    ($($test:ident),* $(,)?) => {
        mod postgres {
            $(
                #[sqlx::test(migrations = "../../migrations")]
                async fn $test(pool: sqlx::PgPool) {
                    super::$test($crate::support::TestStore::Postgres(pool)).await;
                }
            )*
        }
{% if database == "postgres+sqlite" %}        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::TestStore::sqlite().await).await;
                }
            )*
        }
{% endif %}    };
}
pub(crate) use on_every_database;

{% endif -%}
{% if example %}/// What a webhook receiver got: each request's headers and JSON body.
pub type Received = Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, serde_json::Value)>>>;

/// A local webhook receiver that records every event; returns the record and its URL.
pub async fn webhook_receiver() -> (Received, String) {
    let received = Received::default();
    let record = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(
            move |headers: axum::http::HeaderMap,
                  axum::Json(body): axum::Json<serde_json::Value>| {
                record.lock().unwrap().push((headers, body));
                async {}
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (received, url)
}

{% endif %}/// Forwards a local port to a target; `cut` drops every connection and refuses new ones,
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
