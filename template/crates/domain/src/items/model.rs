//! Item types that cannot hold an invalid value: every constructor that takes outside input is
//! fallible, and fields are private. Serialization formats (JSON, SQL rows) live in the adapters.

use time::OffsetDateTime;

use crate::paging::PageSize;
use crate::tenants::TenantId;

/// Why a value could not become part of an item. The adapters report it per field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidItem {
    /// The name is empty once surrounding whitespace is removed.
    #[error("must not be empty")]
    EmptyName,
    /// The name or description is longer than allowed.
    #[error("must be at most {max} characters, got {actual}")]
    TooLong {
        /// The largest accepted number of characters.
        max: usize,
        /// The number of characters received.
        actual: usize,
    },
    /// The text contains control characters (newlines, tabs, NUL...).
    #[error("must not contain control characters")]
    ControlCharacters,
    /// The status is not one of the known ones.
    #[error("must be one of: active, archived")]
    UnknownStatus,
}

/// Identifies an item.
pub type ItemId = crate::id::Id<Item>;

/// A display name: trimmed, 1 to 100 characters, no control characters. Unique per service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemName(String);

impl ItemName {
    /// The longest accepted name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses outside input into a name.
    ///
    /// # Errors
    /// [`InvalidItem`] when the trimmed text is empty, too long or has control characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidItem> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidItem::EmptyName);
        }
        check_text(trimmed, Self::MAX_CHARS)?;
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text about an item: at most 1000 characters; newlines and tabs are allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDescription(String);

impl ItemDescription {
    /// The longest accepted description, in characters.
    pub const MAX_CHARS: usize = 1000;

    /// Parses outside input into a description.
    ///
    /// # Errors
    /// [`InvalidItem`] when the text is too long or has control characters other than line
    /// breaks and tabs.
    pub fn parse(raw: &str) -> Result<Self, InvalidItem> {
        let actual = raw.chars().count();
        if actual > Self::MAX_CHARS {
            return Err(InvalidItem::TooLong {
                max: Self::MAX_CHARS,
                actual,
            });
        }
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(InvalidItem::ControlCharacters);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The description as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_text(text: &str, max: usize) -> Result<(), InvalidItem> {
    let actual = text.chars().count();
    if actual > max {
        return Err(InvalidItem::TooLong { max, actual });
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidItem::ControlCharacters);
    }
    Ok(())
}

/// Whether an item is in use. Archived items stay readable but are out of the default view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    /// In use.
    Active,
    /// Kept for the record.
    Archived,
}

impl ItemStatus {
    /// Parses the wire and storage spelling (`active`, `archived`).
    ///
    /// # Errors
    /// [`InvalidItem::UnknownStatus`] for anything else.
    pub fn parse(raw: &str) -> Result<Self, InvalidItem> {
        match raw {
            "active" => Ok(Self::Active),
            "archived" => Ok(Self::Archived),
            _ => Err(InvalidItem::UnknownStatus),
        }
    }

    /// The wire and storage spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }
}

/// What a client asks to create. The id is chosen here, not by the database, so the use case
/// knows it before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// The id the item will have.
    pub id: ItemId,
    /// The tenant that will own it.
    pub tenant_id: TenantId,
    /// The item's name, unique within the tenant.
    pub name: ItemName,
    /// Optional free text.
    pub description: Option<ItemDescription>,
}

impl NewItem {
    /// A new item with a fresh id.
    #[must_use]
    pub fn new(tenant_id: TenantId, name: ItemName, description: Option<ItemDescription>) -> Self {
        Self {
            id: ItemId::generate(),
            tenant_id,
            name,
            description,
        }
    }
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Identity.
    pub id: ItemId,
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// Display name, unique within the tenant.
    pub name: ItemName,
    /// Optional free text.
    pub description: Option<ItemDescription>,
    /// Whether it is in use.
    pub status: ItemStatus,
    /// Incremented on every change; the basis for optimistic locking and ETags.
    pub version: i64,
    /// When the item was created.
    pub created_at: OffsetDateTime,
    /// When the item last changed.
    pub updated_at: OffsetDateTime,
}

/// A partial update: `None` leaves a field as it is. For the description, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemChanges {
    /// A new name.
    pub name: Option<ItemName>,
    /// A new description, or `Some(None)` to remove it.
    pub description: Option<Option<ItemDescription>>,
    /// A new status.
    pub status: Option<ItemStatus>,
}

impl ItemChanges {
    /// Applies the changes to an item's fields (not its version or timestamps).
    pub fn apply_to(&self, item: &mut Item) {
        if let Some(name) = &self.name {
            item.name = name.clone();
        }
        if let Some(description) = &self.description {
            item.description = description.clone();
        }
        if let Some(status) = self.status {
            item.status = status;
        }
    }
}

/// An update of one item, allowed only if it still has `expected_version` (optimistic locking:
/// two clients editing the same item cannot silently overwrite each other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateItem {
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// The item.
    pub id: ItemId,
    /// The version the client last saw.
    pub expected_version: i64,
    /// What to change.
    pub changes: ItemChanges,
}

/// The versions of an item a change may apply to: HTTP's `If-Match` (`*`, or a list of
/// ETags), GraphQL's `expectedVersion`. A change to any other version is refused, so a client
/// never overwrites a change it has not seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Whatever version the item has (it must exist).
    Any,
    /// One of these versions. Empty: none can match (the client named only tags this
    /// service never gives out).
    OneOf(Vec<i64>),
}

impl ExpectedVersion {
    /// Exactly `version`.
    #[must_use]
    pub fn exactly(version: i64) -> Self {
        Self::OneOf(vec![version])
    }

    /// Whether a change may apply to an item at `version`.
    #[must_use]
    pub fn admits(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(&version),
        }
    }

    /// The one version named, when exactly one is: the repository can check it itself.
    #[must_use]
    pub fn single(&self) -> Option<i64> {
        match self {
            Self::OneOf(versions) if versions.len() == 1 => versions.first().copied(),
            _ => None,
        }
    }

    /// The first version named, to report beside the current one when none matched.
    #[must_use]
    pub fn first(&self) -> Option<i64> {
        match self {
            Self::Any => None,
            Self::OneOf(versions) => versions.first().copied(),
        }
    }
}

/// The outcome of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedItem {
    /// The item.
    pub item: Item,
    /// `true` when an earlier request with the same idempotency key created it.
    pub replayed: bool,
}

/// The orders a list can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemSort {
    /// Oldest first.
    CreatedAscending,
    /// Newest first.
    CreatedDescending,
    /// By name, A to Z.
    NameAscending,
    /// By name, Z to A.
    NameDescending,
}

/// Where a page starts: the sort key of the last item of the previous page (keyset pagination,
/// stable under concurrent inserts and as fast on page 1000 as on page 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemCursor {
    /// After this creation time and id (for the created sorts).
    Created {
        /// The last item's creation time.
        created_at: OffsetDateTime,
        /// The last item's id, to break ties.
        id: ItemId,
    },
    /// After this name (names are unique per tenant, so no tie-break is needed).
    Name(String),
}

impl ItemCursor {
    /// The cursor that continues after `item` in `sort` order.
    #[must_use]
    pub fn after(item: &Item, sort: ItemSort) -> Self {
        match sort {
            ItemSort::CreatedAscending | ItemSort::CreatedDescending => Self::Created {
                created_at: item.created_at,
                id: item.id,
            },
            ItemSort::NameAscending | ItemSort::NameDescending => {
                Self::Name(item.name.as_str().to_owned())
            }
        }
    }

    /// Whether this cursor can continue a list in `sort` order.
    #[must_use]
    pub fn fits(&self, sort: ItemSort) -> bool {
        matches!(
            (self, sort),
            (
                Self::Created { .. },
                ItemSort::CreatedAscending | ItemSort::CreatedDescending
            ) | (
                Self::Name(_),
                ItemSort::NameAscending | ItemSort::NameDescending
            )
        )
    }
}

/// A request for one page of a tenant's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItems {
    /// Whose items.
    pub tenant_id: TenantId,
    /// At most this many items.
    pub limit: PageSize,
    /// In which order.
    pub sort: ItemSort,
    /// Only items with this status, when set.
    pub status: Option<ItemStatus>,
    /// Continue after this point; `None` for the first page. Must fit `sort`.
    pub after: Option<ItemCursor>,
}

/// One page of items and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPage {
    /// The items, in the requested order.
    pub items: Vec<Item>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<ItemCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_trimmed() {
        assert_eq!(ItemName::parse("  lamp ").unwrap().as_str(), "lamp");
    }

    #[test]
    fn blank_name_is_rejected() {
        assert_eq!(ItemName::parse(" \t "), Err(InvalidItem::EmptyName));
    }

    #[test]
    fn name_length_counts_characters_not_bytes() {
        let hundred_wide = "é".repeat(100);
        assert!(ItemName::parse(&hundred_wide).is_ok());
        assert_eq!(
            ItemName::parse(&"é".repeat(101)),
            Err(InvalidItem::TooLong {
                max: 100,
                actual: 101
            })
        );
    }

    #[test]
    fn control_characters_are_rejected_in_names() {
        assert_eq!(
            ItemName::parse("a\u{0}b"),
            Err(InvalidItem::ControlCharacters)
        );
        assert_eq!(ItemName::parse("a\nb"), Err(InvalidItem::ControlCharacters));
    }

    #[test]
    fn description_allows_line_breaks_but_not_nul() {
        assert!(ItemDescription::parse("line one\nline two\tend").is_ok());
        assert_eq!(
            ItemDescription::parse("x\u{0}"),
            Err(InvalidItem::ControlCharacters)
        );
    }

    #[test]
    fn status_round_trips_through_its_spelling() {
        for status in [ItemStatus::Active, ItemStatus::Archived] {
            assert_eq!(ItemStatus::parse(status.as_str()), Ok(status));
        }
        assert_eq!(
            ItemStatus::parse("deleted"),
            Err(InvalidItem::UnknownStatus)
        );
    }

    #[test]
    fn cursors_only_fit_their_own_sort() {
        let by_name = ItemCursor::Name("lamp".to_owned());
        assert!(by_name.fits(ItemSort::NameDescending));
        assert!(!by_name.fits(ItemSort::CreatedAscending));
    }

    #[test]
    fn generated_ids_sort_by_creation() {
        let first = ItemId::generate();
        let second = ItemId::generate();
        assert!(first < second);
    }
}
