//! Installs the global subscriber and the OpenTelemetry tracer provider.

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter, TracerProviderBuilder};
use serde::{Deserialize, Serialize};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

/// The target of feature-flag evaluation events (`adapter-flags`' `TARGET`): one per
/// evaluation, for traces, not logs.
const FEATURE_FLAG_TARGET: &str = "feature_flag";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log shippers.
    Json,
    /// Multi-line, coloured, for people at a terminal (`APP_ENV=local`).
    Pretty,
}

/// Telemetry settings, the `[telemetry]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Log line format.
    pub log_format: LogFormat,
    /// Which events are logged, in `EnvFilter` syntax (`info,sqlx=warn`).
    pub log_filter: String,
    /// OTLP/HTTP traces endpoint (`http://localhost:4318/v1/traces`); empty turns export off.
    pub otlp_endpoint: String,
    /// Share of new traces that are recorded, 0.0 to 1.0; a sampled parent is always followed.
    pub sampling_ratio: f64,
}

/// Who is emitting: the resource attributes on every span.
#[derive(Debug, Clone)]
pub struct ServiceIdentity {
    /// `service.name`.
    pub name: &'static str,
    /// `service.version`.
    pub version: &'static str,
    /// `deployment.environment.name` (`local`, `production`...).
    pub environment: String,
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("telemetry.log_filter {filter:?} is invalid: {source}")]
    Filter {
        /// The filter as configured.
        filter: String,
        /// The parser's complaint.
        source: tracing_subscriber::filter::ParseError,
    },
    /// The sampling ratio is outside 0.0..=1.0.
    #[error("telemetry.sampling_ratio must be between 0.0 and 1.0, got {0}")]
    SamplingRatio(f64),
    /// The OTLP exporter could not be built.
    #[error("telemetry.otlp_endpoint {endpoint:?} cannot be used: {source}")]
    Exporter {
        /// The endpoint as configured.
        endpoint: String,
        /// The exporter's complaint.
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// A global subscriber was already installed.
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Flushes and stops the trace pipeline when dropped: keep it alive until the process ends.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // Export what is still buffered; a collector that is gone must not hang the exit.
        if let Err(error) = self.provider.shutdown() {
            eprintln!("telemetry: flushing traces failed: {error}");
        }
    }
}

/// Installs logging and tracing for the whole process.
///
/// # Errors
/// See [`TelemetryError`]; every variant names the setting at fault.
pub fn init(
    settings: &TelemetrySettings,
    service: &ServiceIdentity,
) -> Result<TelemetryGuard, TelemetryError> {
    let mut builder = provider_builder(settings, service)?;
    if !settings.otlp_endpoint.is_empty() {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(settings.otlp_endpoint.clone())
            .build()
            .map_err(|source| TelemetryError::Exporter {
                endpoint: settings.otlp_endpoint.clone(),
                source,
            })?;
        // Batches leave on a background thread: a slow collector never delays a request.
        builder = builder.with_batch_exporter(exporter);
    }
    install(settings, service, builder.build())
}

/// Like [`init`], but every span goes to `exporter` as soon as it ends, whatever
/// `otlp_endpoint` says. For tests, with the SDK's in-memory exporter: what they read is what
/// an OTLP collector would have received.
///
/// # Errors
/// See [`TelemetryError`].
pub fn init_with_exporter(
    settings: &TelemetrySettings,
    service: &ServiceIdentity,
    exporter: impl SpanExporter + 'static,
) -> Result<TelemetryGuard, TelemetryError> {
    let provider = provider_builder(settings, service)?
        .with_simple_exporter(exporter)
        .build();
    install(settings, service, provider)
}

fn install(
    settings: &TelemetrySettings,
    service: &ServiceIdentity,
    provider: SdkTracerProvider,
) -> Result<TelemetryGuard, TelemetryError> {
    let mut filter =
        EnvFilter::try_new(&settings.log_filter).map_err(|source| TelemetryError::Filter {
            filter: settings.log_filter.clone(),
            source,
        })?;
    // Feature-flag evaluations are INFO events of the `feature_flag` target, one per
    // evaluation: traces keep them as span events, the log leaves them out unless
    // `log_filter` names the target itself (`info,feature_flag=info`).
    let names_the_target = settings
        .log_filter
        .split(',')
        .any(|directive| directive.trim().split(['=', '[']).next() == Some(FEATURE_FLAG_TARGET));
    if !names_the_target && let Ok(quiet) = format!("{FEATURE_FLAG_TARGET}=warn").parse() {
        filter = filter.add_directive(quiet);
    }
    let tracer = provider.tracer(service.name);
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    // Each layer filters on its own: `log_filter` decides what is logged, while spans for
    // tracing are always kept at INFO, so trace ids exist even when logs are quiet. (A `Targets`
    // filter here, next to the log's `EnvFilter`, made the log lose events: measured.)
    let traces = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(LevelFilter::INFO);
    let registry = tracing_subscriber::registry().with(traces);
    let installed = match settings.log_format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true)
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().pretty().with_filter(filter))
            .try_init(),
    };
    installed.map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard { provider })
}

/// Resource and sampler; the exporter is the caller's choice.
fn provider_builder(
    settings: &TelemetrySettings,
    service: &ServiceIdentity,
) -> Result<TracerProviderBuilder, TelemetryError> {
    if !(0.0..=1.0).contains(&settings.sampling_ratio) {
        return Err(TelemetryError::SamplingRatio(settings.sampling_ratio));
    }
    let resource = Resource::builder()
        .with_service_name(service.name)
        .with_attributes([
            KeyValue::new("service.version", service.version),
            KeyValue::new("deployment.environment.name", service.environment.clone()),
        ])
        .build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sampling_ratio,
        )))))
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::InMemorySpanExporter;

    use super::*;

    /// Of 400 new traces, how many the sampler keeps and exports.
    fn kept(sampling_ratio: f64) -> usize {
        let settings = TelemetrySettings {
            log_format: LogFormat::Json,
            log_filter: "info".to_owned(),
            otlp_endpoint: String::new(),
            sampling_ratio,
        };
        let service = ServiceIdentity {
            name: "test",
            version: "0",
            environment: "test".to_owned(),
        };
        let exporter = InMemorySpanExporter::default();
        let provider = provider_builder(&settings, &service)
            .unwrap()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("sampling");
        for _ in 0..400 {
            tracer.in_span("work", |_| {});
        }
        exporter.get_finished_spans().unwrap().len()
    }

    #[test]
    fn the_sampling_ratio_decides_how_many_new_traces_are_kept() {
        assert_eq!(kept(1.0), 400);
        assert_eq!(kept(0.0), 0);
        let half = kept(0.5);
        assert!((120..=280).contains(&half), "about half: {half}");
        assert!(matches!(
            provider_builder(
                &TelemetrySettings {
                    sampling_ratio: 1.5,
                    log_format: LogFormat::Json,
                    log_filter: String::new(),
                    otlp_endpoint: String::new(),
                },
                &ServiceIdentity {
                    name: "test",
                    version: "0",
                    environment: String::new(),
                },
            ),
            Err(TelemetryError::SamplingRatio(_))
        ));
    }
}
