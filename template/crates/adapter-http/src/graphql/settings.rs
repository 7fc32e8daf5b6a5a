//! The `[graphql]` settings. A leaf, so the shared state can carry them without importing the
//! GraphQL module that imports the state.

use serde::{Deserialize, Serialize};

/// The `[graphql]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlSettings {
    /// Deepest nesting of selections a query may have; deeper ones are refused before they run.
    pub max_depth: usize,
    /// Most complexity a query may have: each field costs 1, a field that reaches storage
    /// `STORAGE_COST` (10) more, and a connection its page size times (its selection + 1). Also
    /// the most fields a document may hold with every fragment expanded.
    pub max_complexity: usize,
    /// Most mutations one document may run.
    pub max_mutations: usize,
    /// Whether `__schema` and `__type` answer. Off in production: the committed
    /// `docs/schema.graphql` is the contract, and a live map of it only helps an attacker.
    pub introspection: bool,
}

impl GraphqlSettings {
    /// Checks the settings as loaded.
    ///
    /// # Errors
    /// A message naming the limit that is 0 (which would refuse every query or mutation).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_depth == 0 || self.max_complexity == 0 {
            return Err(
                "graphql: max_depth and max_complexity must be at least 1 (0 would \
                 refuse every query)"
                    .to_owned(),
            );
        }
        if self.max_mutations == 0 {
            return Err(
                "graphql: max_mutations must be at least 1 (0 would refuse every mutation)"
                    .to_owned(),
            );
        }
        Ok(())
    }
}
