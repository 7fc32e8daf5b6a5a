//! Tenant types and the errors of tenant operations.

use time::OffsetDateTime;

use crate::items::InvalidItem;

/// Identifies a tenant.
pub type TenantId = crate::id::Id<Tenant>;

/// A tenant's display name: trimmed, 1 to 100 characters, no control characters, unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantName(String);

impl TenantName {
    /// Parses outside input into a name.
    ///
    /// # Errors
    /// [`InvalidItem`] when the trimmed text is empty, too long or has control characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidItem> {
        // The same rules as item names; reuse their checks rather than restate them.
        crate::items::ItemName::parse(raw).map(|name| Self(name.as_str().to_owned()))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a client asks to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    /// The id the tenant will have.
    pub id: TenantId,
    /// Its unique name.
    pub name: TenantName,
}

impl NewTenant {
    /// A new tenant with a fresh id.
    #[must_use]
    pub fn new(name: TenantName) -> Self {
        Self {
            id: TenantId::generate(),
            name,
        }
    }
}

/// A stored tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Identity.
    pub id: TenantId,
    /// Unique name.
    pub name: TenantName,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Why a tenant could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateTenantError {
    /// Another tenant has this name.
    #[error("a tenant named {name:?} already exists", name = .0.as_str())]
    Duplicate(TenantName),
    /// The principal lacks the permission this operation needs.
    #[error(transparent)]
    Forbidden(#[from] crate::auth::Forbidden),
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a tenant could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GetTenantError {
    /// No tenant has this id.
    #[error("tenant {0} does not exist")]
    NotFound(TenantId),
    /// The principal lacks the permission this operation needs.
    #[error(transparent)]
    Forbidden(#[from] crate::auth::Forbidden),
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}
