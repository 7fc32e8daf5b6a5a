//! Every migration must be reversible: up, down one step at a time, and up again must leave
//! the schema exactly as the first `up` did. Runs on a fresh database of its own.

use adapter_postgres::Migrations;
use sqlx::PgPool;

/// Tables, columns, constraints and indexes of the `public` schema, as comparable text.
async fn schema(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || \
                ' null=' || is_nullable || ' default=' || coalesce(column_default, '-') \
           FROM information_schema.columns \
          WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
         UNION ALL \
         SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
           FROM pg_constraint \
          WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_sqlx_migrations' \
         UNION ALL \
         SELECT 'index ' || indexdef FROM pg_indexes \
          WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations' \
         UNION ALL \
         SELECT 'type ' || typname FROM pg_type \
          WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'c') \
            AND typrelid = 0 \
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|error| panic!("cannot read the schema: {error}"))
}

#[sqlx::test(migrations = false)]
async fn migrations_go_up_down_and_up_again_to_the_same_schema(pool: PgPool) {
    let empty = schema(&pool).await;
    Migrations::up(&pool).await.unwrap();
    let migrated = schema(&pool).await;
    let status = Migrations::status(&pool).await.unwrap();
    assert_eq!(
        status.pending().count(),
        0,
        "every migration is applied after up"
    );

    let mut reverted = Vec::new();
    for _ in 0..status.0.len() {
        reverted.extend(Migrations::down(&pool, 1).await.unwrap());
    }
    let mut expected: Vec<i64> = status.0.iter().map(|migration| migration.version).collect();
    expected.reverse();
    assert_eq!(
        reverted, expected,
        "each down step reverts the newest applied migration"
    );
    assert_eq!(
        schema(&pool).await,
        empty,
        "all downs together undo all ups"
    );

    Migrations::up(&pool).await.unwrap();
    assert_eq!(
        schema(&pool).await,
        migrated,
        "up after down rebuilds the same schema"
    );
}

#[sqlx::test(migrations = false)]
async fn status_lists_pending_migrations_before_up(pool: PgPool) {
    let before = Migrations::status(&pool).await.unwrap();
    assert!(before.0.iter().all(|migration| !migration.applied));
    Migrations::up(&pool).await.unwrap();
    let after = Migrations::status(&pool).await.unwrap();
    assert!(after.0.iter().all(|migration| migration.applied));
    assert_eq!(before.0.len(), after.0.len());
}
