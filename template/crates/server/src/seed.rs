//! `seed`: development and demo data (two tenants, items in both states), loaded through the
//! use cases with the wiring `serve` uses, so it passes the same rules and writes the same
//! audit lines, outbox events and shared (Redis) cache entries. Webhooks are the exception
//! (`cli.rs` turns them off for this command): they leave from an in-process queue that a
//! short-lived command would drop half-sent.
//!
//! Running it again changes nothing in data it wrote: tenants have fixed ids and are created
//! only when absent, each item is created with an idempotency key of its own (a repeat returns
//! that item as it is now), and an item is archived only when it is not archived yet. A run
//! stopped half-way is completed by the next. It must never run against real data: `cli.rs`
//! allows it only with `APP_ENV` `local` or `test`, as demo rows in a customer's tenant are a
//! support incident.

use anyhow::Context;
use domain::auth::{Principal, Role};
use domain::idempotency::{Idempotency, IdempotencyKey};
use domain::items::{
    ExpectedVersion, ItemChanges, ItemDescription, ItemName, ItemService, ItemStatus, NewItem,
};
use domain::tenants::{GetTenantError, NewTenant, TenantId, TenantName, TenantService};
use uuid::Uuid;

/// The demo tenants: fixed ids, so a second run finds them.
const TENANTS: [(&str, &str); 2] = [
    ("0190f5d2-7e1c-7000-8000-0000000000a1", "Acme (demo)"),
    ("0190f5d2-7e1c-7000-8000-0000000000a2", "Globex (demo)"),
];

/// Each demo tenant's items: name, description, and the status it ends in.
const ITEMS: [(&str, Option<&str>, ItemStatus); 3] = [
    (
        "Desk lamp",
        Some("Brass, with a warm bulb"),
        ItemStatus::Active,
    ),
    ("Office chair", None, ItemStatus::Active),
    (
        "Old printer",
        Some("Replaced; kept for the inventory"),
        ItemStatus::Archived,
    ),
];

/// What a run did, for the operator.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Tenants created by this run (the others were there already).
    pub tenants_created: usize,
    /// Items created by this run.
    pub items_created: usize,
    /// Items this run moved to the status the demo data gives them.
    pub items_changed: usize,
}

/// Loads the demo data through `tenants` and `items`.
///
/// # Errors
/// When a use case refuses (a tenant of the same name but another id exists, say) or storage
/// fails; what was written before stays, and the next run completes it.
pub async fn seed(tenants: &TenantService, items: &ItemService) -> anyhow::Result<Seeded> {
    let mut seeded = Seeded::default();
    let platform = Principal::new("seed", Uuid::nil(), [Role::PlatformAdmin]);
    for (id, name) in TENANTS {
        let tenant_id = TenantId::from(Uuid::parse_str(id)?);
        let admin = Principal::new("seed", tenant_id.as_uuid(), [Role::Admin]);
        match tenants.get(&admin, tenant_id).await {
            Ok(_) => {}
            Err(GetTenantError::NotFound(_)) => {
                let tenant = NewTenant {
                    id: tenant_id,
                    name: TenantName::parse(name)?,
                };
                tenants
                    .create(&platform, tenant)
                    .await
                    .with_context(|| format!("creating the demo tenant {name:?}"))?;
                seeded.tenants_created += 1;
            }
            Err(error) => return Err(error).context("reading a demo tenant"),
        }
        for (number, (item_name, description, status)) in ITEMS.into_iter().enumerate() {
            let new = NewItem::new(
                tenant_id,
                ItemName::parse(item_name)?,
                description.map(ItemDescription::parse).transpose()?,
            );
            // The key names the demo item; the fingerprint is a digest of its content (never
            // the content: a description is sealed at rest), so editing the demo data above and
            // seeding again is refused rather than answered with the old item.
            let content = format!("{item_name}\n{}", description.unwrap_or_default());
            let idempotency = Idempotency {
                key: IdempotencyKey::parse(&format!("seed-{id}-{number}"))?,
                fingerprint: hex_sha256(content.as_bytes()),
            };
            let created = items
                .create(&admin, new, Some(idempotency))
                .await
                .with_context(|| format!("creating the demo item {item_name:?}"))?;
            if !created.replayed {
                seeded.items_created += 1;
            }
            let item = created.item;
            if item.status != status {
                let changes = ItemChanges {
                    name: None,
                    description: None,
                    status: Some(status),
                };
                items
                    .update_matching(
                        &admin,
                        tenant_id,
                        item.id,
                        ExpectedVersion::OneOf(vec![item.version]),
                        changes,
                    )
                    .await
                    .with_context(|| format!("setting the status of {item_name:?}"))?;
                seeded.items_changed += 1;
            }
        }
    }
    Ok(seeded)
}

/// The SHA-256 of `bytes`, in lower-case hex.
fn hex_sha256(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
