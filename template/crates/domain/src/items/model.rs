//! Item types that cannot hold an invalid value: every constructor that takes outside input is
//! fallible, and fields are private. Serialization formats (JSON, SQL rows) live in the adapters.

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

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
    /// The page size is outside the accepted range.
    #[error("must be between {min} and {max}, got {actual}")]
    PageSizeOutOfRange {
        /// The smallest accepted page size.
        min: u32,
        /// The largest accepted page size.
        max: u32,
        /// The page size received.
        actual: u32,
    },
}

/// Identifies an item. Version 7 UUIDs sort by creation time, so the id alone orders a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemId(Uuid);

impl ItemId {
    /// A new, time-ordered id.
    #[must_use]
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// The underlying UUID, for adapters that store or print it.
    #[must_use]
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for ItemId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

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

/// What a client asks to create. The id is chosen here, not by the database, so the use case
/// knows it before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    /// The id the item will have.
    pub id: ItemId,
    /// The item's unique name.
    pub name: ItemName,
    /// Optional free text.
    pub description: Option<ItemDescription>,
}

impl NewItem {
    /// A new item with a fresh id.
    #[must_use]
    pub fn new(name: ItemName, description: Option<ItemDescription>) -> Self {
        Self {
            id: ItemId::generate(),
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
    /// Unique display name.
    pub name: ItemName,
    /// Optional free text.
    pub description: Option<ItemDescription>,
    /// Incremented on every change; the basis for optimistic locking and ETags.
    pub version: i64,
    /// When the item was created.
    pub created_at: OffsetDateTime,
    /// When the item last changed.
    pub updated_at: OffsetDateTime,
}

/// How many items one page holds: 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    /// The smallest page.
    pub const MIN: u32 = 1;
    /// The largest page: bounds the work one request can ask for.
    pub const MAX: u32 = 100;
    /// The page size when the client does not say.
    pub const DEFAULT: Self = Self(20);

    /// Checks a requested page size.
    ///
    /// # Errors
    /// [`InvalidItem::PageSizeOutOfRange`] outside `MIN..=MAX`.
    pub fn new(requested: u32) -> Result<Self, InvalidItem> {
        if (Self::MIN..=Self::MAX).contains(&requested) {
            Ok(Self(requested))
        } else {
            Err(InvalidItem::PageSizeOutOfRange {
                min: Self::MIN,
                max: Self::MAX,
                actual: requested,
            })
        }
    }

    /// The size as a number.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

/// A request for one page of items, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListItems {
    /// At most this many items.
    pub limit: PageSize,
    /// Only items created after this one (keyset pagination: stable under concurrent inserts).
    pub after: Option<ItemId>,
}

/// One page of items and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPage {
    /// The items, oldest first.
    pub items: Vec<Item>,
    /// The id to pass as `after` for the next page; `None` on the last page.
    pub next: Option<ItemId>,
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
    fn page_size_bounds() {
        assert!(PageSize::new(0).is_err());
        assert_eq!(PageSize::new(1).unwrap().get(), 1);
        assert_eq!(PageSize::new(100).unwrap().get(), 100);
        assert!(PageSize::new(101).is_err());
    }

    #[test]
    fn generated_ids_sort_by_creation() {
        let first = ItemId::generate();
        let second = ItemId::generate();
        assert!(first < second);
    }
}
