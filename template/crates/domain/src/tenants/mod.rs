//! Tenants: the owners of every example row. Each item belongs to exactly one tenant, and every
//! item operation names the tenant it acts for, so the repositories can enforce isolation in
//! every query. Part of the example: deleting the example deletes this module too.

#[cfg(any(test, feature = "in-memory"))]
mod in_memory;
mod model;
mod service;

#[cfg(any(test, feature = "in-memory"))]
pub use in_memory::InMemoryTenantRepository;
pub use model::{CreateTenantError, GetTenantError, NewTenant, Tenant, TenantId, TenantName};
pub use service::{TenantRepository, TenantService};
