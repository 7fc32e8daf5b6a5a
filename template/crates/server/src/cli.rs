//! The command line: `serve`, `migrate up|down|status`, `config`, `healthcheck`; with the
//! example, `seed`; in a service that checks tokens, `token`; with messaging,
//! `outbox dead-letters|redrive`.
//!
//! Each subcommand loads the configuration the same way, so `config` shows exactly what `serve`
//! would use. Exit codes are meaningful: 0 success, 1 failure, 2 bad usage or configuration.

use std::process::ExitCode;
use std::time::Duration;

{% if auth == "jwt" %}use adapter_http::auth::DevelopmentToken;
{% endif %}use clap::{Parser, Subcommand};
{% if auth == "jwt" %}use domain::auth::Role;
{% endif %}use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::{Settings, Sources};
{% if messaging != "none" %}use crate::messaging::OutboxAction;
{% endif %}
use crate::identity::SERVICE_NAME;
use crate::startup::{Application, shutdown_signal};
use crate::storage::Storage;

// `about` comes from the package description (the `description` given at generation).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service until SIGTERM or SIGINT.
    Serve,
    /// Apply, revert or list database migrations.
    Migrate {
        /// The migration action.
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the effective configuration, secrets redacted.
    Config,
{% if example %}    /// Load development and demo data through the use cases (two tenants and their items);
    /// running it again changes nothing. Only with APP_ENV local or test.
    Seed,
{% endif %}    /// Exit 0 when the local service answers /health/ready with 200 (for container health checks).
    Healthcheck {
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },{% if messaging != "none" %}
    /// List and re-drive events the relay gave up on (dead letters in the outbox).
    Outbox {
        /// What to do.
        #[command(subcommand)]
        action: OutboxAction,
    },{% endif %}
{% if auth == "jwt" %}    /// Mint a development bearer token (HS256, the configured secret). Refused when
    /// APP_ENV=production: production tokens come from the identity provider.
    Token {
        /// The tenant the token acts for (a UUID).
        #[arg(long)]
        tenant: uuid::Uuid,
        /// A role to grant; repeat for several (viewer, editor, admin, platform-admin, operator).
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// The `sub` claim.
        #[arg(long, default_value = "developer")]
        subject: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_secs: u64,
    },
{% endif %}}

{% if auth == "jwt" %}fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| {
        let known: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!("unknown role {name:?}; known roles: {}", known.join(", "))
    })
}

{% endif %}/// Migration actions.
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the most recent migrations.
    Down {
        /// How many to revert.
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// Runs a parsed command line to completion.
pub fn run(cli: Cli) -> ExitCode {
    let sources = Sources::from_env();
{% if auth == "jwt" %}    if matches!(cli.command, Command::Token { .. }) && sources.environment == "production" {
        eprintln!(
            "{SERVICE_NAME}: refusing to mint a token with APP_ENV=production; \
             production tokens come from the identity provider"
        );
        return ExitCode::from(2);
    }
{% endif -%}
{% if example %}    // Demo data only where data is disposable: a laptop (`local`) or a test. Any other name
    // (production, staging, a typo of either) is refused before a connection is opened.
    if matches!(cli.command, Command::Seed)
        && !matches!(sources.environment.as_str(), "local" | "test")
    {
        eprintln!(
            "{SERVICE_NAME}: refusing to seed with APP_ENV={}; demo data goes only into \
             APP_ENV=local or test",
            sources.environment
        );
        return ExitCode::from(2);
    }
{% endif %}    let settings = match Settings::load(&sources) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{SERVICE_NAME}: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{SERVICE_NAME}: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(dispatch(cli.command, settings, sources));
    match outcome {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "command failed");
            eprintln!("{SERVICE_NAME}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(
    command: Command,
    settings: Settings,
    sources: Sources,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve(settings, sources).await,
        Command::Migrate { action } => migrate(settings, action).await,
        Command::Config => {
            println!("{}", serde_json::to_string_pretty(&settings.redacted())?);
            Ok(ExitCode::SUCCESS)
        }
{% if example %}        Command::Seed => seed(settings, &sources).await,
{% endif %}        Command::Healthcheck { timeout_ms } => {
            Ok(healthcheck(&settings, Duration::from_millis(timeout_ms)).await)
        }{% if messaging != "none" %}
        Command::Outbox { action } => {
            let storage = Storage::open(&settings, false).await?;
            // The outbox is PostgreSQL's (messaging needs database=postgres).
            let Storage::Postgres(pools) = &storage;
            let outcome = crate::messaging::outbox(pools, action).await;
            storage.close().await;
            outcome.map(|()| ExitCode::SUCCESS)
        }{% endif %}
{% if auth == "jwt" %}        Command::Token {
            tenant,
            roles,
            subject,
            ttl_secs,
        } => {
            let token = DevelopmentToken {
                subject,
                tenant,
                roles,
                lifetime: Duration::from_secs(ttl_secs),
            }
            .mint(&settings.auth)?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
{% endif %}    }
}

{% if example %}/// Loads the demo data (`seed.rs`) through the use cases `serve` would build (webhooks off),
/// into the configured database (migrated first when `serve` would migrate it).
async fn seed(settings: Settings, sources: &Sources) -> anyhow::Result<ExitCode> {
    let identity = telemetry::ServiceIdentity {
        name: SERVICE_NAME,
        version: env!("CARGO_PKG_VERSION"),
        environment: sources.environment.clone(),
    };
    // The audit lines of what the seed writes go where the service's go.
    let _telemetry = telemetry::init(&settings.telemetry, &identity)?;
    // Demo data is not announced to webhook receivers: deliveries leave from an in-process
    // queue that this command, ending right after its writes, would drop half-sent.
    let mut settings = settings;
    settings.webhook.url = Default::default();
    let storage = Storage::open(&settings, true).await?;
    if settings.database.migrate_on_start {
        storage.migrate_up().await?;
    }
    let state = crate::startup::app_state(&settings, &storage).await?;
    let outcome = crate::seed::seed(&state.tenants, &state.items).await;
    storage.close().await;
    let seeded = outcome?;
    println!(
        "seed: {} tenants created, {} items created, {} items changed",
        seeded.tenants_created, seeded.items_created, seeded.items_changed
    );
    Ok(ExitCode::SUCCESS)
}

{% endif %}async fn serve(settings: Settings, sources: Sources) -> anyhow::Result<ExitCode> {
    let identity = telemetry::ServiceIdentity {
        name: SERVICE_NAME,
        version: env!("CARGO_PKG_VERSION"),
        environment: sources.environment.clone(),
    };
    let _telemetry = telemetry::init(&settings.telemetry, &identity)?;
    tracing::info!(environment = %sources.environment, config = %settings.redacted(), "starting");
    let application = Application::build(settings).await?;
    tracing::info!(address = %application.local_addr()?, "listening");
    application.run_until(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn migrate(settings: Settings, action: MigrateAction) -> anyhow::Result<ExitCode> {
    // Only `up` may create a missing database; `status` and `down` report on what exists.
    let storage = Storage::open(&settings, matches!(action, MigrateAction::Up)).await?;
    match action {
        MigrateAction::Up => {
            storage.migrate_up().await?;
            println!("all migrations applied");
        }
        MigrateAction::Down { steps } => {
            for version in storage.migrate_down(steps).await? {
                println!("reverted {version}");
            }
        }
        MigrateAction::Status => {
            for (version, description, applied) in storage.migration_status().await? {
                let state = if applied { "applied" } else { "pending" };
                println!("{version:>14}  {state:<8} {description}");
            }
        }
    }
    storage.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Asks the local service whether it is ready, with a bare HTTP/1.1 request: the runtime image
/// has no curl or shell, and this needs no HTTP client library.
async fn healthcheck(settings: &Settings, timeout: Duration) -> ExitCode {
    let address = format!("127.0.0.1:{}", settings.http.port);
    let probe = async {
        let mut stream = TcpStream::connect(&address).await?;
        stream
            .write_all(
                b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .await?;
        let mut head = [0_u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(head)) if head.starts_with(b"HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(Ok(head)) => {
            eprintln!("not ready: {}", String::from_utf8_lossy(&head));
            ExitCode::FAILURE
        }
        Ok(Err(error)) => {
            eprintln!("cannot reach {address}: {error}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("no answer from {address} within {timeout:?}");
            ExitCode::FAILURE
        }
    }
}
