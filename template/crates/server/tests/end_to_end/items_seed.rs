//! `seed`, run as a developer runs it: the demo data arrives through the use cases, a second
//! run changes nothing, a run stopped half-way is completed by the next, and any environment
//! but `local` and `test` refuses it before touching the database.

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
async fn seeding_twice_gives_the_same_data_and_only_local_or_test_may_seed(
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

    // A run stopped half-way (here: before the second tenant) is completed by the next.
    sqlx::query("DELETE FROM items WHERE tenant_id = '0190f5d2-7e1c-7000-8000-0000000000a2'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM tenants WHERE id = '0190f5d2-7e1c-7000-8000-0000000000a2'")
        .execute(&pool)
        .await
        .unwrap();
    let (status, summary, stderr) = seed(&database, "test");
    assert!(status.success(), "{stderr}");
    assert_eq!(
        summary,
        "seed: 1 tenants created, 3 items created, 1 items changed"
    );
    assert_eq!(rows(&pool).await.len(), 2 + 6);

    // Anywhere but a laptop or a test, it is refused before it connects.
    let before = rows(&pool).await;
    for environment in ["production", "staging"] {
        let (status, summary, stderr) = seed(&database, environment);
        assert_eq!(status.code(), Some(2), "{environment}: {stderr}");
        assert!(stderr.contains("refusing to seed"), "{stderr}");
        assert!(summary.is_empty(), "{summary}");
    }
    assert_eq!(rows(&pool).await, before, "the refused runs wrote nothing");
}
