//! Readiness for PostgreSQL: the database answers and has every migration this binary expects.
//! A service whose schema is behind its code must not take traffic.

use async_trait::async_trait;
use domain::health::{DependencyProbe, ProbeFailure};
use sqlx::PgPool;

use crate::Migrations;

/// Checks the primary pool.
#[derive(Debug, Clone)]
pub struct PostgresProbe {
    pool: PgPool,
}

impl PostgresProbe {
    /// A probe over the given pool.
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl DependencyProbe for PostgresProbe {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn is_critical(&self) -> bool {
        true
    }

    async fn check(&self) -> Result<(), ProbeFailure> {
        let status = Migrations::status(&self.pool)
            .await
            .map_err(|error| ProbeFailure::new(format!("cannot query the database: {error}")))?;
        let pending: Vec<String> = status
            .pending()
            .map(|migration| migration.version.to_string())
            .collect();
        if pending.is_empty() {
            Ok(())
        } else {
            Err(ProbeFailure::new(format!(
                "migrations not applied: {}",
                pending.join(", ")
            )))
        }
    }
}
