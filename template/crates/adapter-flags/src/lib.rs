//! The feature-flag adapter ring: answers the domain's [`Flags`] port through the OpenFeature SDK.
//!
//! The use cases ask `flags.is_enabled(NEWEST_FIRST, &principal)`; this crate turns the
//! principal into an OpenFeature evaluation context (the subject as targeting key, the tenant as
//! a field), asks the provider, and answers off when the provider cannot (an unknown flag, a
//! provider that is down): the behaviour from before the flag. The provider shipped here reads
//! configuration and a flags file it re-reads (`provider.rs`, rules in `rules.rs`); flagd,
//! LaunchDarkly or any OpenFeature provider can take its place through
//! [`OpenFeatureFlags::over`], and the telemetry hook (`telemetry.rs`) stays.
//!
//! This crate must not know HTTP, SQL or which use case asks; it answers for any [`Flag`].

mod provider;
pub mod rules;
mod settings;
mod telemetry;

use std::time::Duration;

use async_trait::async_trait;
use domain::auth::Principal;
use domain::flags::{Flag, Flags};
use open_feature::provider::FeatureProvider;
use open_feature::{Client, EvaluationContext, OpenFeature};

pub use provider::{ConfiguredProvider, PROVIDER_NAME, Reload, RuleSet, TENANT_FIELD};
pub use settings::{FlagRule, FlagRules, FlagSettings, RolloutBy, read_file};
pub use telemetry::{EvaluationTelemetry, TARGET};

/// The [`Flags`] port over an OpenFeature client.
pub struct OpenFeatureFlags {
    client: Client,
}

impl OpenFeatureFlags {
    /// The shipped provider over `settings`, re-reading the flags file (a bad one is refused,
    /// `RuleSet::load`) and checking expiries every `reload_interval_ms` for as long as the
    /// runtime runs.
    pub async fn start(settings: &FlagSettings) -> Self {
        let rules = RuleSet::load(settings);
        rules.reload_every(Duration::from_millis(settings.reload_interval_ms));
        Self::over(ConfiguredProvider::new(rules)).await
    }

    /// Any OpenFeature provider behind the port, with the same telemetry. Each instance has an
    /// API of its own rather than OpenFeature's global one, so two services in one process (the
    /// tests run many) do not share flags.
    pub async fn over(provider: impl FeatureProvider) -> Self {
        let mut api = OpenFeature::default();
        api.set_provider(provider).await;
        Self {
            client: api.create_client().with_hook(EvaluationTelemetry),
        }
    }
}

#[async_trait]
impl Flags for OpenFeatureFlags {
    async fn is_enabled(&self, flag: Flag, principal: &Principal) -> bool {
        let context = EvaluationContext::default()
            .with_targeting_key(principal.subject())
            .with_custom_field(TENANT_FIELD, principal.tenant().to_string());
        self.client
            .get_bool_value(flag.key(), Some(&context), None)
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    //! The port end to end through the SDK: configuration, the file and its reload, telemetry.
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};

    use domain::auth::Role;
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use uuid::Uuid;

    use super::*;

    const NEW_LIST: Flag = Flag::new("new_list");

    fn principal(tenant: Uuid) -> Principal {
        Principal::new("someone", tenant, [Role::Viewer])
    }

    fn rule(enabled: bool) -> FlagRule {
        FlagRule {
            description: "a new list".to_owned(),
            owner: "items team".to_owned(),
            expires: "2030-01-31".to_owned(),
            enabled,
            rollout_percent: 100,
            rollout_by: RolloutBy::Tenant,
            tenants: Vec::new(),
            kill: false,
        }
    }

    fn settings(rules: FlagRules, file: &str) -> FlagSettings {
        FlagSettings {
            path: file.to_owned(),
            reload_interval_ms: 100,
            rules,
        }
    }

    /// A flags file in a folder of its own, removed on drop.
    struct FlagsFile(PathBuf);

    impl FlagsFile {
        fn with(content: &str) -> Self {
            let folder = std::env::temp_dir().join(format!("flags-{}", Uuid::new_v4()));
            std::fs::create_dir_all(&folder).unwrap();
            let file = Self(folder.join("flags.toml"));
            file.write(content);
            file
        }

        fn write(&self, content: &str) {
            // Written beside and renamed, as a ConfigMap update is: never read half-written.
            let next = self.0.with_extension("next");
            std::fs::write(&next, content).unwrap();
            std::fs::rename(next, &self.0).unwrap();
        }

        fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for FlagsFile {
        fn drop(&mut self) {
            if let Some(folder) = self.0.parent() {
                let _ = std::fs::remove_dir_all(folder);
            }
        }
    }

    fn flag_file(enabled: bool) -> String {
        format!(
            "[new_list]\nowner = \"items team\"\nexpires = \"2030-01-31\"\nenabled = {enabled}\n"
        )
    }

    #[tokio::test]
    async fn a_flag_is_on_or_off_as_configured_and_an_unknown_flag_is_off() {
        let tenant = Uuid::new_v4();
        for enabled in [true, false] {
            let rules = FlagRules::from([("new_list".to_owned(), rule(enabled))]);
            let flags = OpenFeatureFlags::start(&settings(rules, "")).await;
            assert_eq!(
                flags.is_enabled(NEW_LIST, &principal(tenant)).await,
                enabled
            );
            assert!(
                !flags
                    .is_enabled(Flag::new("nobody_configured_me"), &principal(tenant))
                    .await
            );
        }
    }

    #[tokio::test]
    async fn the_tenant_reaches_the_rules_from_the_principal() {
        let (early, other) = (Uuid::new_v4(), Uuid::new_v4());
        let mut listed = rule(false);
        listed.tenants = vec![early];
        let rules = FlagRules::from([("new_list".to_owned(), listed)]);
        let flags = OpenFeatureFlags::start(&settings(rules, "")).await;
        assert!(flags.is_enabled(NEW_LIST, &principal(early)).await);
        assert!(!flags.is_enabled(NEW_LIST, &principal(other)).await);
    }

    #[tokio::test]
    async fn a_changed_file_takes_effect_without_a_restart_and_a_bad_one_is_refused() {
        let file = FlagsFile::with(&flag_file(false));
        let flags = OpenFeatureFlags::start(&settings(FlagRules::new(), &file.path())).await;
        let someone = principal(Uuid::new_v4());
        assert!(!flags.is_enabled(NEW_LIST, &someone).await);

        file.write(&flag_file(true));
        let mut waited = 0;
        while !flags.is_enabled(NEW_LIST, &someone).await {
            assert!(waited < 50, "the change was not picked up within 5 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += 1;
        }

        file.write("[new_list]\nenabled = \"yes\"\n");
        // Several reload periods: the refused file must not have switched anything off.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            flags.is_enabled(NEW_LIST, &someone).await,
            "the last good flags stay in force"
        );
    }

    #[test]
    fn a_reload_reports_what_it_did() {
        let file = FlagsFile::with(&flag_file(false));
        let rules = RuleSet::load(&settings(FlagRules::new(), &file.path()));
        assert_eq!(rules.reload(), Reload::Unchanged);
        file.write(&flag_file(true));
        assert_eq!(rules.reload(), Reload::Applied);
        assert!(rules.current()["new_list"].enabled);
        file.write("not toml at all [");
        assert!(matches!(rules.reload(), Reload::Refused(_)));
        std::fs::remove_file(&file.0).unwrap();
        let Reload::Refused(why) = rules.reload() else {
            panic!("a deleted file must be refused");
        };
        assert!(why.contains("cannot read"), "{why}");
        assert!(rules.current()["new_list"].enabled, "the last good flags");
    }

    #[test]
    fn a_bad_file_at_start_is_refused_and_configuration_s_rules_serve_until_a_good_one() {
        let file = FlagsFile::with("[new_list]\nenabled = \"yes\"\n");
        let configured = FlagRules::from([("new_list".to_owned(), rule(true))]);
        let rules = RuleSet::load(&settings(configured, &file.path()));
        assert!(rules.current()["new_list"].enabled, "configuration's rule");
        assert!(matches!(rules.reload(), Reload::Refused(_)));
        file.write(&flag_file(false));
        assert_eq!(rules.reload(), Reload::Applied);
        assert!(
            !rules.current()["new_list"].enabled,
            "the file's rule once it is good"
        );
    }

    #[test]
    fn flags_past_their_expiry_are_counted_and_still_answer() {
        let mut expired = rule(true);
        expired.expires = "2001-01-31".to_owned();
        let rules = RuleSet::load(&settings(
            FlagRules::from([
                ("old".to_owned(), expired),
                ("new_list".to_owned(), rule(true)),
            ]),
            "",
        ));
        assert_eq!(rules.watch_expiry(), 1);
        assert!(
            rules.current()["old"].enabled,
            "an expired flag still works"
        );
    }

    /// Keeps each event's name and fields, as `name key=value ...`.
    #[derive(Clone, Default)]
    struct Events(Arc<Mutex<Vec<String>>>);

    struct Fields<'a>(&'a mut String);

    impl tracing::field::Visit for Fields<'_> {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
        fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
            let mut line = event.metadata().target().to_owned();
            event.record(&mut Fields(&mut line));
            self.0.lock().unwrap().push(line);
        }
    }

    #[test]
    fn each_evaluation_is_a_span_event_and_a_count_without_tenant_ids() {
        let events = Events::default();
        let subscriber = tracing_subscriber::registry().with(events.clone());
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let metrics = recorder.handle();
        let tenant = Uuid::new_v4();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tracing::subscriber::with_default(subscriber, || {
            metrics::with_local_recorder(&recorder, || {
                runtime.block_on(async {
                    let rules = FlagRules::from([("new_list".to_owned(), rule(true))]);
                    let flags = OpenFeatureFlags::start(&settings(rules, "")).await;
                    flags.is_enabled(NEW_LIST, &principal(tenant)).await;
                    flags.is_enabled(NEW_LIST, &principal(tenant)).await;
                    flags
                        .is_enabled(Flag::new("unknown"), &principal(tenant))
                        .await;
                });
            });
        });

        let events = events.0.lock().unwrap().join("\n");
        assert!(
            events.contains(
                "feature_flag message=feature_flag.evaluation feature_flag.key=new_list \
                 feature_flag.provider.name=configuration feature_flag.result.variant=on \
                 feature_flag.result.reason=static"
            ),
            "{events}"
        );
        assert!(
            events.contains(
                "feature_flag message=feature_flag.evaluation feature_flag.key=unknown \
                 feature_flag.provider.name=configuration feature_flag.result.variant=default \
                 feature_flag.result.reason=error error.type=FLAG_NOT_FOUND"
            ),
            "{events}"
        );
        let exposition = metrics.render();
        assert!(
            exposition.contains(
                r#"feature_flag_evaluations_total{flag="new_list",variant="on",reason="static"} 2"#
            ),
            "{exposition}"
        );
        assert!(
            exposition.contains(
                r#"feature_flag_evaluations_total{flag="unknown",variant="default",reason="error"} 1"#
            ),
            "{exposition}"
        );
        assert!(
            !exposition.contains(&tenant.to_string()),
            "no tenant in labels"
        );
        assert!(
            !events.contains(&tenant.to_string()),
            "no tenant in events either"
        );
    }
}
