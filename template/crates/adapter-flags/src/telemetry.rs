//! Every evaluation, visible: an OpenFeature hook, so it records whatever provider answers.
//!
//! Each evaluation becomes an event named `feature_flag.evaluation` on the current span, with the
//! OpenTelemetry semantic conventions' attributes (`feature_flag.key`,
//! `feature_flag.provider.name`, `feature_flag.result.variant`, `feature_flag.result.reason`), and
//! one count in `feature_flag_evaluations_total{flag, variant, reason}`. A trace then shows which
//! code path a request took, and the counter shows how far a rollout has reached.
//!
//! The event is at INFO under the `feature_flag` target: the trace layer keeps it, while the
//! log leaves the target out unless `telemetry.log_filter` names it (`telemetry::setup`), so it
//! does not print a line per evaluation.
//! This module must not put tenant ids or subjects in metric labels: they are unbounded, and the
//! trace already ties an evaluation to its request.

use async_trait::async_trait;
use open_feature::{
    EvaluationDetails, EvaluationError, EvaluationReason, Hook, HookContext, HookHints, Value,
};

/// The tracing target of evaluation events (written out in the macros, which take a literal;
/// `telemetry::setup` keeps it out of the log).
pub const TARGET: &str = "feature_flag";

/// Records each evaluation as a span event and a counter.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvaluationTelemetry;

/// The semantic conventions' spelling of a reason (`targeting_match`, `split`...).
fn reason_name(reason: Option<&EvaluationReason>) -> String {
    reason.map_or_else(
        || "unknown".to_owned(),
        |reason| reason.to_string().to_ascii_lowercase(),
    )
}

/// The event and the count of one evaluation; `error` is the code when it failed.
fn record(context: &HookContext<'_>, variant: &str, reason: String, error: Option<String>) {
    // `event!`, not `info!`: the latter cannot take a target and dotted field names at once.
    tracing::event!(
        target: "feature_flag",
        tracing::Level::INFO,
        feature_flag.key = context.flag_key,
        feature_flag.provider.name = %context.provider_metadata.name,
        feature_flag.result.variant = variant,
        feature_flag.result.reason = %reason,
        error.type = error.as_deref(),
        "feature_flag.evaluation"
    );
    metrics::counter!(
        "feature_flag_evaluations_total",
        "flag" => context.flag_key.to_owned(),
        "variant" => variant.to_owned(),
        "reason" => reason
    )
    .increment(1);
}

#[async_trait]
impl Hook for EvaluationTelemetry {
    async fn before<'a>(
        &self,
        _context: &HookContext<'a>,
        _hints: Option<&'a HookHints>,
    ) -> Result<Option<open_feature::EvaluationContext>, EvaluationError> {
        Ok(None)
    }

    async fn after<'a>(
        &self,
        context: &HookContext<'a>,
        details: &EvaluationDetails<Value>,
        _hints: Option<&'a HookHints>,
    ) -> Result<(), EvaluationError> {
        let variant = details.variant.as_deref().unwrap_or("unknown");
        record(context, variant, reason_name(details.reason.as_ref()), None);
        Ok(())
    }

    /// A failed evaluation: the caller's default applied, which is what the variant says.
    async fn error<'a>(
        &self,
        context: &HookContext<'a>,
        error: &EvaluationError,
        _hints: Option<&'a HookHints>,
    ) {
        record(
            context,
            "default",
            "error".to_owned(),
            Some(error.code.to_string()),
        );
    }

    async fn finally<'a>(
        &self,
        _context: &HookContext<'a>,
        _details: &EvaluationDetails<Value>,
        _hints: Option<&'a HookHints>,
    ) {
    }
}
