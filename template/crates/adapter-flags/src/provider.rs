//! The OpenFeature provider this service ships: flags from configuration and the flags file,
//! decided by `rules.rs`, re-read while the service runs.
//!
//! The rules in force sit behind one lock as a whole set, swapped in one step: an evaluation
//! sees the old set or the new one, never half of each. A file that fails its checks is refused
//! with an error in the log (once per distinct error) and a counted refusal, and the last good
//! set stays in force (at start, configuration's), so a typo in a ConfigMap can neither turn
//! every flag off at once nor stop a new pod. Flags past their expiry are counted and named.
//!
//! This module must not know the domain's flags or record telemetry (`telemetry.rs` does, as an
//! OpenFeature hook, so it stays when another provider replaces this one).

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use open_feature::provider::{FeatureProvider, ProviderMetadata, ResolutionDetails};
use open_feature::{
    EvaluationContext, EvaluationError, EvaluationErrorCode, EvaluationReason, EvaluationResult,
    StructValue,
};
use time::Date;
use uuid::Uuid;

use crate::rules::{Caller, Why, decide};
use crate::settings::{FlagRule, FlagRules, FlagSettings, expiry};

/// The evaluation context field that carries the tenant (the targeting key is the subject).
pub const TENANT_FIELD: &str = "tenant";

/// The provider's name in traces and metrics (`feature_flag.provider.name`).
pub const PROVIDER_NAME: &str = "configuration";

/// The rules in force, shared by the provider and the reloader.
#[derive(Debug, Clone)]
pub struct RuleSet {
    settings: FlagSettings,
    current: Arc<RwLock<Arc<FlagRules>>>,
    /// What the log was last told, so a file refused every period is logged once per error and
    /// expired flags once a day, not at every tick.
    told: Arc<Mutex<Told>>,
}

#[derive(Debug, Default)]
struct Told {
    refusal: Option<String>,
    expired_on: Option<Date>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// The file had the rules already in force.
    Unchanged,
    /// The file's new rules are in force.
    Applied,
    /// The file was refused (the message says why); the last good rules stay in force.
    Refused(String),
}

impl RuleSet {
    /// The rules `settings` name now: configuration's, with the file's over them. A file that
    /// cannot be read or fails its checks is refused as a reload would refuse it, and the
    /// service starts on configuration's rules: new pods must start while a ConfigMap is bad,
    /// and the next good file puts its rules in force.
    #[must_use]
    pub fn load(settings: &FlagSettings) -> Self {
        // Both outcomes exist from the start, so the first refusal is an increase an alert sees.
        for outcome in ["applied", "refused"] {
            metrics::counter!("feature_flag_reloads_total", "outcome" => outcome).increment(0);
        }
        let rules = Self {
            settings: settings.clone(),
            current: Arc::new(RwLock::new(Arc::new(settings.rules.clone()))),
            told: Arc::default(),
        };
        rules.reload();
        rules.watch_expiry();
        rules
    }

    /// The rules in force.
    #[must_use]
    pub fn current(&self) -> Arc<FlagRules> {
        // A panic while holding the lock cannot leave the set half-written (it is swapped
        // whole), so a poisoned lock still holds a good set.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Reads the file again and puts its rules in force if they pass every check.
    pub fn reload(&self) -> Reload {
        if self.settings.path.is_empty() {
            return Reload::Unchanged;
        }
        let rules = match self.settings.current_rules() {
            Ok(rules) => rules,
            Err(error) => {
                metrics::counter!("feature_flag_reloads_total", "outcome" => "refused")
                    .increment(1);
                let mut told = self.told();
                if told.refusal.as_ref() != Some(&error) {
                    tracing::error!(%error, "flags file refused: the last good flags stay in force");
                    told.refusal = Some(error.clone());
                }
                return Reload::Refused(error);
            }
        };
        self.told().refusal = None;
        if *self.current() == rules {
            return Reload::Unchanged;
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(rules);
        tracing::info!(file = %self.settings.path, "flags file changed: its flags are in force");
        metrics::counter!("feature_flag_reloads_total", "outcome" => "applied").increment(1);
        // New rules may bring expired flags: tell today, even if today was told already.
        self.told().expired_on = None;
        Reload::Applied
    }

    /// Counts the flags past their expiry in `feature_flags_expired` and, once a day, names each
    /// with its owner in a warning. A flag past its expiry still works: failing on a date would
    /// take production down for a calendar reason.
    pub fn watch_expiry(&self) -> usize {
        let today = time::OffsetDateTime::now_utc().date();
        let rules = self.current();
        let expired: Vec<(&String, &FlagRule)> = rules
            .iter()
            .filter(|(_, rule)| expiry(rule).is_ok_and(|expires| expires < today))
            .collect();
        let count = u32::try_from(expired.len()).unwrap_or(u32::MAX);
        metrics::gauge!("feature_flags_expired").set(f64::from(count));
        let mut told = self.told();
        if told.expired_on != Some(today) {
            for (key, rule) in &expired {
                tracing::warn!(flag = %key, owner = %rule.owner, expires = %rule.expires, "feature flag past its expiry: remove it");
            }
            told.expired_on = Some(today);
        }
        expired.len()
    }

    fn told(&self) -> std::sync::MutexGuard<'_, Told> {
        self.told.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads the file and checks expiries every `interval` until the runtime stops.
    pub fn reload_every(&self, interval: Duration) {
        let rules = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                rules.reload();
                rules.watch_expiry();
            }
        });
    }
}

/// The OpenFeature provider over a [`RuleSet`]. Flags are booleans; asking for another type is
/// a type mismatch, and an unknown key is `FLAG_NOT_FOUND` (the caller's default applies).
pub struct ConfiguredProvider {
    rules: RuleSet,
    metadata: ProviderMetadata,
}

impl ConfiguredProvider {
    /// A provider answering from `rules`.
    #[must_use]
    pub fn new(rules: RuleSet) -> Self {
        Self {
            rules,
            metadata: ProviderMetadata::new(PROVIDER_NAME),
        }
    }
}

fn not_boolean() -> EvaluationError {
    EvaluationError {
        code: EvaluationErrorCode::TypeMismatch,
        message: Some("this provider's flags are booleans".to_owned()),
    }
}

#[async_trait]
impl FeatureProvider for ConfiguredProvider {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        let rules = self.rules.current();
        let rule = rules.get(flag_key).ok_or_else(|| EvaluationError {
            code: EvaluationErrorCode::FlagNotFound,
            message: Some(format!("no flag {flag_key:?} is configured")),
        })?;
        let tenant = evaluation_context
            .custom_fields
            .get(TENANT_FIELD)
            .and_then(|value| value.as_str())
            .and_then(|tenant| Uuid::parse_str(tenant).ok());
        let caller = Caller {
            tenant,
            subject: evaluation_context.targeting_key.as_deref(),
        };
        let decision = decide(flag_key, rule, caller);
        Ok(ResolutionDetails {
            value: decision.on,
            variant: Some(if decision.on { "on" } else { "off" }.to_owned()),
            reason: Some(match decision.why {
                Why::Disabled => EvaluationReason::Disabled,
                Why::Listed => EvaluationReason::TargetingMatch,
                Why::Everyone => EvaluationReason::Static,
                Why::Share => EvaluationReason::Split,
            }),
            flag_metadata: None,
        })
    }

    async fn resolve_int_value(
        &self,
        _flag_key: &str,
        _evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        Err(not_boolean())
    }

    async fn resolve_float_value(
        &self,
        _flag_key: &str,
        _evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        Err(not_boolean())
    }

    async fn resolve_string_value(
        &self,
        _flag_key: &str,
        _evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        Err(not_boolean())
    }

    async fn resolve_struct_value(
        &self,
        _flag_key: &str,
        _evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        Err(not_boolean())
    }
}
