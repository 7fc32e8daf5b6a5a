//! The audit trail: who did what to which resource, and whether it was allowed.
//!
//! Audit events are structured log events with the target `audit`, so a log pipeline can route
//! them to append-only storage with one filter (`target = "audit"`). They run inside the
//! request's span, whose `request_id` the JSON logs carry beside each event. They must never
//! hold secrets, tokens or the content of a resource: only identifiers and outcomes.

use crate::auth::{Permission, Principal};

/// The target every audit event is logged under.
pub const TARGET: &str = "audit";

/// Records a change the principal made (`action` on `resource`), after it succeeded.
pub fn write(principal: &Principal, action: &'static str, resource: &str) {
    tracing::event!(
        target: TARGET,
        tracing::Level::INFO,
        {
        audit.actor = principal.subject(),
        audit.tenant = %principal.tenant(),
        audit.action = action,
        audit.resource = resource,
        audit.outcome = "success",
        },
        "audit"
    );
}

/// Records that the principal was refused `permission`.
pub fn denied(principal: &Principal, permission: Permission) {
    tracing::event!(
        target: TARGET,
        tracing::Level::WARN,
        {
        audit.actor = principal.subject(),
        audit.tenant = %principal.tenant(),
        audit.action = "authorize",
        audit.resource = %permission,
        audit.outcome = "denied",
        },
        "audit"
    );
}

/// Records a failed authentication. `reason` says which check failed (expired, bad signature...),
/// never the credential itself.
pub fn authentication_failed(reason: &str) {
    tracing::event!(
        target: TARGET,
        tracing::Level::WARN,
        {
        audit.actor = "anonymous",
        audit.action = "authenticate",
        audit.resource = "api",
        audit.outcome = "failure",
        audit.reason = reason,
        },
        "audit"
    );
}
