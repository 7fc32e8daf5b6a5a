//! Readiness for the embedded database: the file answers and has every migration this binary
//! expects, the same rule as for PostgreSQL.

use async_trait::async_trait;
use domain::health::{DependencyProbe, ProbeFailure};

use crate::{SqliteMigrations, SqliteStore};

/// Checks the database file.
#[derive(Debug, Clone)]
pub struct SqliteProbe {
    store: SqliteStore,
}

impl SqliteProbe {
    /// A probe over the given store.
    #[must_use]
    pub fn new(store: SqliteStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl DependencyProbe for SqliteProbe {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn is_critical(&self) -> bool {
        true
    }

    async fn check(&self) -> Result<(), ProbeFailure> {
        let status = SqliteMigrations::status(&self.store)
            .await
            .map_err(|error| ProbeFailure::new(format!("cannot query the database: {error}")))?;
        let pending: Vec<String> = status
            .iter()
            .filter(|migration| !migration.applied)
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
