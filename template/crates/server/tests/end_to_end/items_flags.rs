//! The example feature flag end to end: `items_newest_first` turned on for one tenant by
//! editing the flags file while the service runs, seen in that tenant's lists only, and in the
//! request's trace and in `/metrics`.

use std::time::Duration;

use crate::support::{TestApp, test_settings};
use crate::traces::{exporter, spans_of, traceparent};
use adapter_postgres::PostgresPools;
use opentelemetry::trace::TraceId;
use reqwest::StatusCode;
use sqlx::PgPool;

/// The flag's table in the flags file, listing `tenants`.
fn flags_file(tenants: &[&str]) -> String {
    let listed: Vec<String> = tenants.iter().map(|tenant| format!("{tenant:?}")).collect();
    format!(
        "[items_newest_first]\nowner = \"items team\"\nexpires = \"2030-01-31\"\n\
         enabled = false\ntenants = [{}]\n",
        listed.join(", ")
    )
}

/// The names in a list without `sort`, in the order served.
async fn names_listed(app: &TestApp, tenant: &str, trace: Option<&str>) -> Vec<String> {
    let mut request = app
        .client
        .get(app.url(&format!("/api/v1/tenants/{tenant}/items")));
    if let Some(trace) = trace {
        request = request.header("traceparent", traceparent(trace));
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page: serde_json::Value = response.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_flag_turned_on_for_one_tenant_in_the_file_changes_its_lists_only_and_is_traced(
    pool: PgPool,
) {
    const TRACE: &str = "5cf92f3577b34da6a3ce929d0e0e4736";
    exporter();
    let folder = std::env::temp_dir().join(format!("flags-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("flags.toml");
    std::fs::write(&file, flags_file(&[])).unwrap();
    let mut settings = test_settings();
    settings.flags.path = file.display().to_string();
    settings.flags.reload_interval_ms = 100;
    let app = TestApp::spawn_with(settings, PostgresPools::single(pool)).await;
    let (early, others) = (
        app.create_tenant("early").await,
        app.create_tenant("others").await,
    );
    for tenant in [&early, &others] {
        app.create_item(tenant, "older").await;
        app.create_item(tenant, "newer").await;
        assert_eq!(names_listed(&app, tenant, None).await, ["older", "newer"]);
    }

    // A first page, made while the flag is off, whose continuation a client will ask for the
    // way GraphQL clients do: the same arguments (no order named) and the cursor.
    let first = app
        .client
        .get(app.url(&format!("/api/v1/tenants/{early}/items?limit=1")))
        .send()
        .await
        .unwrap();
    let first: serde_json::Value = first.json().await.unwrap();
    let next = first["links"]["next"].as_str().unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap().to_owned();

    // Written beside and renamed, as the kubelet swaps a ConfigMap's files.
    let next = folder.join("flags.next");
    std::fs::write(&next, flags_file(&[&early])).unwrap();
    std::fs::rename(&next, &file).unwrap();
    let mut waited = 0;
    while names_listed(&app, &early, None).await != ["newer", "older"] {
        assert!(waited < 50, "the flags file was not re-read within 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        names_listed(&app, &others, None).await,
        ["older", "newer"],
        "a tenant the flag is not on for keeps the old order"
    );
    let continued = app
        .client
        .get(app.url(&format!(
            "/api/v1/tenants/{early}/items?limit=1&cursor={cursor}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        continued.status(),
        StatusCode::OK,
        "a list begun before the flag changed goes on in its own order"
    );
    let continued: serde_json::Value = continued.json().await.unwrap();
    assert_eq!(
        continued["items"][0]["name"], "newer",
        "the page after `older`"
    );
    let sorted = app
        .client
        .get(app.url(&format!("/api/v1/tenants/{early}/items?sort=createdAt")))
        .send()
        .await
        .unwrap();
    let sorted: serde_json::Value = sorted.json().await.unwrap();
    assert_eq!(
        sorted["items"][0]["name"], "older",
        "an explicit sort is obeyed whatever the flag"
    );

    assert_eq!(
        names_listed(&app, &early, Some(TRACE)).await,
        ["newer", "older"]
    );
    let spans = spans_of(TraceId::from_hex(TRACE).unwrap());
    let evaluation = spans
        .iter()
        .flat_map(|span| span.events.iter())
        .find(|event| event.name == "feature_flag.evaluation")
        .unwrap_or_else(|| panic!("no feature_flag.evaluation event in {spans:#?}"));
    let attribute = |key: &str| {
        evaluation
            .attributes
            .iter()
            .find(|attribute| attribute.key.as_str() == key)
            .map(|attribute| attribute.value.to_string())
    };
    for (key, value) in [
        ("feature_flag.key", "items_newest_first"),
        ("feature_flag.provider.name", "configuration"),
        ("feature_flag.result.variant", "on"),
        ("feature_flag.result.reason", "targeting_match"),
    ] {
        assert_eq!(attribute(key).as_deref(), Some(value), "{key}");
    }

    let on = r#"feature_flag_evaluations_total{flag="items_newest_first",reason="targeting_match",variant="on"}"#;
    let off = r#"feature_flag_evaluations_total{flag="items_newest_first",reason="disabled",variant="off"}"#;
    assert!(app.metric(on).await >= 2.0, "{on}");
    assert!(app.metric(off).await >= 1.0, "{off}");
    let body = app.get("/metrics").await.text().await.unwrap();
    assert!(
        !body.contains(&early) && !body.contains(&others),
        "no tenant id in any label"
    );
    app.stop().await.unwrap();
    std::fs::remove_dir_all(folder).unwrap();
}
