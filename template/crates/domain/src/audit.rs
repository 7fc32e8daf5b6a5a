//! The audit trail: who did what to which resource, and whether it was allowed.
//!
//! Audit events are structured log events with the target `audit`, so a log pipeline can route
//! them to append-only storage with one filter (`target = "audit"`). They run inside the
//! request's span, whose `request_id` the JSON logs carry beside each event. They must never
//! hold secrets, tokens or the content of a resource: only identifiers and outcomes.
//!
//! It knows who acted only as an [`Actor`] (`crate::auth::Principal::actor` makes one), so the
//! audit trail depends on nothing and anything may write to it.

use std::fmt::Display;

use uuid::Uuid;

/// The target every audit event is logged under.
pub const TARGET: &str = "audit";

/// Who acted, as the audit trail names them: identifiers only, never a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// The subject (a token's `sub`, or `anonymous`).
    pub subject: &'a str,
    /// The tenant the actor acted for.
    pub tenant: Uuid,
}

/// Records a change the actor made (`action` on `resource`), after it succeeded.
pub fn write(actor: Actor<'_>, action: &'static str, resource: &str) {
    tracing::event!(
        target: TARGET,
        tracing::Level::INFO,
        {
        audit.actor = actor.subject,
        audit.tenant = %actor.tenant,
        audit.action = action,
        audit.resource = resource,
        audit.outcome = "success",
        },
        "audit"
    );
}

/// Records that the actor was refused `permission`.
pub fn denied(actor: Actor<'_>, permission: &dyn Display) {
    tracing::event!(
        target: TARGET,
        tracing::Level::WARN,
        {
        audit.actor = actor.subject,
        audit.tenant = %actor.tenant,
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
