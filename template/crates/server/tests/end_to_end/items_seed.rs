//! `seed`, run as a developer runs it: the demo data arrives through the use cases, a second
//! run changes nothing, and production refuses it before touching the database.

use crate::cli::command;
use crate::support::{database_url, run};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Every demo row as text, in a fixed order: what a second run must leave exactly as it was.
async fn rows(pool: &PgPool) -> Vec<String> {
    let tenants: Vec<(String, String)> =
        sqlx::query_as("SELECT id::text, name FROM tenants ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let items: Vec<(String, String, String, i64, String)> = sqlx::query_as(
        "SELECT tenant_id::text, name, status::text, version, updated_at::text FROM items \
         ORDER BY tenant_id, name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    tenants
        .into_iter()
        .map(|tenant| format!("{tenant:?}"))
        .chain(items.into_iter().map(|item| format!("{item:?}")))
        .collect()
}

/// Runs `seed` against `database` with `APP_ENV=environment`: its status, its summary line (the
/// rest of stdout is the log), and stderr.
fn seed(database: &str, environment: &str) -> (std::process::ExitStatus, String, String) {
    let mut seed = command(&["seed"]);
    seed.env("APP_ENV", environment)
        .env("APP__DATABASE__URL", database_url(database, None));
    let (output, stdout, stderr) = run(&mut seed);
    let summary = stdout
        .lines()
        .find(|line| line.starts_with("seed: "))
        .unwrap_or_default()
        .to_owned();
    (output.status, summary, stderr)
}

#[sqlx::test(migrations = "../../migrations")]
async fn seeding_twice_gives_the_same_data_and_production_refuses_it(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let database = connect.get_database().unwrap().to_owned();
    let pool = options.connect_with(connect).await.unwrap();

    let (status, summary, stderr) = seed(&database, "test");
    assert!(status.success(), "{stderr}");
    assert_eq!(
        summary,
        "seed: 2 tenants created, 6 items created, 2 items changed"
    );
    let first = rows(&pool).await;
    assert_eq!(first.len(), 2 + 6, "{first:#?}");
    let archived = first
        .iter()
        .filter(|row| row.contains("\"archived\""))
        .count();
    assert_eq!(archived, 2, "one archived item per tenant: {first:#?}");

    let (status, summary, stderr) = seed(&database, "test");
    assert!(status.success(), "{stderr}");
    assert_eq!(
        summary,
        "seed: 0 tenants created, 0 items created, 0 items changed"
    );
    assert_eq!(rows(&pool).await, first, "a second run changes nothing");

    sqlx::query("TRUNCATE items, tenants CASCADE")
        .execute(&pool)
        .await
        .unwrap();
    let (status, summary, stderr) = seed(&database, "production");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refusing to seed"), "{stderr}");
    assert!(summary.is_empty(), "{summary}");
    assert!(rows(&pool).await.is_empty(), "production wrote nothing");
}
