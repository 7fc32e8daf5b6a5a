//! Identities of the things the service stores: one generic type instead of a newtype copied
//! per resource. `Id<Item>` and `Id<Tenant>` are different types, so the compiler refuses a
//! tenant id where an item id belongs, and a new resource gets its id in one line
//! (`pub type OrderId = Id<Order>;`).
//!
//! It must not grow behaviour of any one resource, nor know how an adapter stores it: adapters
//! take the UUID ([`Id::as_uuid`]) and give one back (`From<Uuid>`).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use uuid::Uuid;

/// Identifies one `Of`. Version 7 UUIDs sort by creation time, so the id alone orders a page.
pub struct Id<Of> {
    uuid: Uuid,
    // `fn() -> Of`: the id neither owns an `Of` nor stops being `Send`, `Sync` or `Copy`
    // because of it.
    of: PhantomData<fn() -> Of>,
}

impl<Of> Id<Of> {
    /// A new, time-ordered id.
    #[must_use]
    pub fn generate() -> Self {
        Self::from(Uuid::now_v7())
    }

    /// The underlying UUID, for adapters that store or print it.
    #[must_use]
    pub fn as_uuid(&self) -> Uuid {
        self.uuid
    }
}

impl<Of> From<Uuid> for Id<Of> {
    fn from(uuid: Uuid) -> Self {
        Self {
            uuid,
            of: PhantomData,
        }
    }
}

impl<Of> fmt::Display for Id<Of> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uuid.fmt(f)
    }
}

// The derives would ask the same of `Of` (an `Item` is neither `Copy` nor `Ord`); an id is
// all of these whatever it identifies, so they are written out.

impl<Of> fmt::Debug for Id<Of> {
    // `Id<Item>(0190…)`: a span field or a failed assertion says what kind of id it is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = std::any::type_name::<Of>();
        let kind = kind.rsplit("::").next().unwrap_or(kind);
        write!(f, "Id<{kind}>({})", self.uuid)
    }
}

impl<Of> Clone for Id<Of> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Of> Copy for Id<Of> {}

impl<Of> PartialEq for Id<Of> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}

impl<Of> Eq for Id<Of> {}

impl<Of> PartialOrd for Id<Of> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<Of> Ord for Id<Of> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.uuid.cmp(&other.uuid)
    }
}

impl<Of> Hash for Id<Of> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Apple;

    #[test]
    fn ids_of_one_kind_compare_by_their_uuid_and_sort_by_creation() {
        let first = Id::<Apple>::generate();
        let second = Id::<Apple>::generate();
        assert!(first < second, "version 7 UUIDs are time-ordered");
        assert_eq!(first, Id::from(first.as_uuid()));
        assert_eq!(first.to_string(), first.as_uuid().to_string());
        assert_eq!(format!("{first:?}"), format!("Id<Apple>({first})"));
    }
}
