//! What every cache port shares: its failure type. A cache is an optimisation, so callers treat
//! every variant the same way: carry on without the cache this time.

/// Why a cache could not answer.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The cache is known to be down (circuit breaker open): not even tried.
    #[error("the cache is unavailable")]
    Unavailable,
    /// The call was made and failed (timeout, connection lost, unreadable entry...).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}
