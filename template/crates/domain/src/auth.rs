//! Who is asking, and what they may do: the principal every use case receives, and the one
//! table that maps roles to permissions (RBAC).
//!
//! Authorization lives here, in the domain, so every way in (REST today, a queue consumer or
//! another protocol tomorrow) enforces the same rules. How a principal is proved (JWTs, keys,
//! issuers) is the HTTP adapter's business; this module must not know about tokens.

use std::collections::BTreeSet;
use std::fmt;

use uuid::Uuid;

/// A role, as identity providers spell it in the token's `roles` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads its tenant's data.
    Viewer,
    /// Reads and changes its tenant's data.
    Editor,
    /// Everything within its tenant, deleting included.
    Admin,
    /// Runs the platform: creates tenants. Holds no right inside any tenant.
    PlatformAdmin,
    /// Reads operational endpoints (metrics, API docs) when they are not public.
    Operator,
}

impl Role {
    /// Every role, for documentation and the `token` subcommand.
    pub const ALL: [Self; 5] = [
        Self::Viewer,
        Self::Editor,
        Self::Admin,
        Self::PlatformAdmin,
        Self::Operator,
    ];

    /// Parses the token spelling; `None` for a role this service does not know (ignored, so
    /// an identity provider can carry roles meant for other services).
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == raw)
    }

    /// The token spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
            Self::PlatformAdmin => "platform-admin",
            Self::Operator => "operator",
        }
    }

    /// The role -> permission table: the only place that grants anything.
    #[must_use]
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
{% if example %}            Self::Viewer => &[ReadTenant, ReadItems],
            Self::Editor => &[ReadTenant, ReadItems, WriteItems],
            Self::Admin => &[ReadTenant, ReadItems, WriteItems, DeleteItems],
            Self::PlatformAdmin => &[CreateTenants],
{% else %}            Self::Viewer | Self::Editor | Self::Admin | Self::PlatformAdmin => &[],
{% endif %}            Self::Operator => &[ReadOperations],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a use case may require. Checked with [`Principal::require`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
{% if example %}    /// Read the principal's own tenant.
    ReadTenant,
    /// Create tenants.
    CreateTenants,
    /// Read the tenant's items.
    ReadItems,
    /// Create and change the tenant's items.
    WriteItems,
    /// Delete the tenant's items.
    DeleteItems,
{% endif %}    /// Read metrics and the API description when they are not public.
    ReadOperations,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// An authenticated caller: who (subject), for which tenant, with which roles. Built by an
/// adapter once it has proved the identity; the domain trusts it and checks permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    subject: String,
    tenant: Uuid,
    roles: BTreeSet<Role>,
}

/// The principal lacks a permission. Adapters answer it with 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{subject} lacks the {permission} permission")]
pub struct Forbidden {
    /// Who asked.
    pub subject: String,
    /// What was missing.
    pub permission: Permission,
}

impl Principal {
    /// A principal acting for `tenant` with `roles`.
    #[must_use]
    pub fn new(
        subject: impl Into<String>,
        tenant: Uuid,
        roles: impl IntoIterator<Item = Role>,
    ) -> Self {
        Self {
            subject: subject.into(),
            tenant,
            roles: roles.into_iter().collect(),
        }
    }

    /// Who: the token's subject.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The tenant this principal acts for.
    #[must_use]
    pub fn tenant(&self) -> Uuid {
        self.tenant
    }

    /// The roles this service knows, in a stable order.
    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.roles.iter().copied()
    }

    /// Every permission the roles grant, in a stable order.
    #[must_use]
    pub fn permissions(&self) -> BTreeSet<Permission> {
        self.roles
            .iter()
            .flat_map(|role| role.permissions().iter().copied())
            .collect()
    }

    /// Whether any role grants `permission`.
    #[must_use]
    pub fn can(&self, permission: Permission) -> bool {
        self.roles
            .iter()
            .any(|role| role.permissions().contains(&permission))
    }

    /// `Ok` when a role grants `permission`; otherwise [`Forbidden`], recorded in the audit trail.
    ///
    /// # Errors
    /// [`Forbidden`] naming the missing permission.
    pub fn require(&self, permission: Permission) -> Result<(), Forbidden> {
        if self.can(permission) {
            return Ok(());
        }
        crate::audit::denied(self.actor(), &permission);
        Err(Forbidden {
            subject: self.subject.clone(),
            permission,
        })
    }

    /// How the audit trail names this principal.
    #[must_use]
    pub fn actor(&self) -> crate::audit::Actor<'_> {
        crate::audit::Actor {
            subject: &self.subject,
            tenant: self.tenant,
        }
    }

    /// Whether this principal acts for `tenant`. Use cases answer "not found" when it does not,
    /// so a caller cannot learn that another tenant's resource exists.
    #[must_use]
    pub fn acts_for(&self, tenant: Uuid) -> bool {
        self.tenant == tenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_roles_are_ignored() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("superuser"), None);
    }

    #[test]
    fn operators_read_operations_and_nothing_else() {
        let operator = Principal::new("ops", Uuid::nil(), [Role::Operator]);
        assert!(operator.can(Permission::ReadOperations));
        assert_eq!(operator.permissions().len(), 1);
        let error = Principal::new("nobody", Uuid::nil(), [])
            .require(Permission::ReadOperations)
            .unwrap_err();
        assert_eq!(error.permission, Permission::ReadOperations);
    }
{% if example %}
    #[test]
    fn each_tenant_role_adds_to_the_one_below() {
        let viewer = Principal::new("v", Uuid::nil(), [Role::Viewer]);
        let editor = Principal::new("e", Uuid::nil(), [Role::Editor]);
        let admin = Principal::new("a", Uuid::nil(), [Role::Admin]);
        assert!(viewer.permissions().is_subset(&editor.permissions()));
        assert!(editor.permissions().is_subset(&admin.permissions()));
        assert!(!viewer.can(Permission::WriteItems));
        assert!(!editor.can(Permission::DeleteItems));
        assert!(admin.can(Permission::DeleteItems));
        assert!(!admin.can(Permission::CreateTenants));
        let platform = Principal::new("p", Uuid::nil(), [Role::PlatformAdmin]);
        assert!(platform.can(Permission::CreateTenants));
        assert!(!platform.can(Permission::ReadItems));
    }
{% endif %}}
