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

/// What a cache holds for one record, and the one version rule every cache keeps (the domain's
/// twin, the in-process cache, and the Lua script of the Redis adapter, which cannot call Rust
/// but follows [`deletion_version`] and [`Cached::replaces`]): an entry takes the place of the
/// one held only when its version is higher, so a late copy of an old version never overwrites
/// a newer one or a deletion, whatever order concurrent writers finish in.
#[derive(Debug, Clone)]
pub enum Cached<T> {
    /// The record, at its version.
    Present {
        /// The record as it was written.
        record: T,
        /// Its version.
        version: i64,
    },
    /// The record was deleted; the version outranks every copy from before the deletion.
    Deleted {
        /// [`deletion_version`] of the record's last version.
        version: i64,
    },
}

impl<T> Cached<T> {
    /// The entry for a deletion of the record whose last version was `last_version`.
    #[must_use]
    pub fn deleted(last_version: i64) -> Self {
        Self::Deleted {
            version: deletion_version(last_version),
        }
    }

    /// The entry's version, whichever kind it is.
    #[must_use]
    pub fn version(&self) -> i64 {
        match self {
            Self::Present { version, .. } | Self::Deleted { version } => *version,
        }
    }

    /// Whether this entry may take the place of `held` (none held, or an older one).
    #[must_use]
    pub fn replaces(&self, held: Option<&Self>) -> bool {
        held.is_none_or(|held| held.version() < self.version())
    }

    /// The record, unless the entry records a deletion.
    #[must_use]
    pub fn record(&self) -> Option<&T> {
        match self {
            Self::Present { record, .. } => Some(record),
            Self::Deleted { .. } => None,
        }
    }
}

/// The version a deletion is recorded at: one past the record's last version, so it outranks
/// the copy of that version it removed.
#[must_use]
pub fn deletion_version(last_version: i64) -> i64 {
    last_version + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_replace_older_ones_and_a_deletion_outranks_its_last_copy() {
        let first = Cached::Present {
            record: "v1",
            version: 1,
        };
        let second = Cached::Present {
            record: "v2",
            version: 2,
        };
        assert!(first.replaces(None));
        assert!(second.replaces(Some(&first)));
        assert!(!first.replaces(Some(&second)), "a late old copy loses");
        assert!(
            !second.replaces(Some(&second)),
            "the same version is not rewritten"
        );
        let deleted = Cached::deleted(2);
        assert!(deleted.replaces(Some(&second)));
        assert!(
            !second.replaces(Some(&deleted)),
            "nothing revives a deletion"
        );
        assert_eq!(deleted.record(), None);
        assert_eq!(second.record(), Some(&"v2"));
    }
}
