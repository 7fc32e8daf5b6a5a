//! What the Kubernetes manifests promise about the pods, checked on the files themselves:
//! hardened containers, zero-downtime rolling updates, a grace period that outlasts the
//! `preStop` pause plus the service's own drain (`http.shutdown_timeout_ms`), and releases
//! (canary, blue-green) judged by the same series and thresholds the alerts page on. Schema validity
//! and checkov's policies are the template harness's job (`kubernetes-validate --strict`).

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap()
}

/// The number after `key:` (YAML) or `key =` (TOML) on the first line that has it.
fn number(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(key)?;
        let value = rest.trim_start().strip_prefix([':', '='])?;
        value.split('#').next()?.trim().parse().ok()
    })
}

#[test]
fn the_pods_run_hardened_and_outlive_their_drain() {
    let deployment = read("deploy/kubernetes/base/deployment.yaml");
    for promise in [
        "runAsNonRoot: true",
        "runAsUser: 65532",
        "type: RuntimeDefault",
        "allowPrivilegeEscalation: false",
        "readOnlyRootFilesystem: true",
        "drop: [\"ALL\"]",
        "automountServiceAccountToken: false",
        "maxUnavailable: 0",
        "path: /health/ready",
        "path: /health/live",
    ] {
        assert!(
            deployment.contains(promise),
            "deployment.yaml lacks {promise}"
        );
    }
    let grace = number(&deployment, "terminationGracePeriodSeconds").unwrap();
    let pause = number(&deployment, "seconds").unwrap();
    // production.toml may override the default drain; the later layer wins.
    let drain_ms = number(&read("config/production.toml"), "shutdown_timeout_ms")
        .or_else(|| number(&read("config/default.toml"), "shutdown_timeout_ms"))
        .unwrap();
    assert!(
        grace * 1000 > pause * 1000 + drain_ms,
        "terminationGracePeriodSeconds ({grace} s) must exceed preStop ({pause} s) plus the \
         drain ({drain_ms} ms), or the kubelet kills requests still draining"
    );
}

/// The block scalar (`key: |`) of the first `key` after the first line containing `after`,
/// its lines joined by single spaces: an expression to compare, whatever its layout.
fn block(text: &str, after: &str, key: &str) -> String {
    let start = text.find(after).unwrap_or_else(|| panic!("no {after}"));
    let mut lines = text[start..].lines();
    let header = lines
        .find(|line| line.trim_start().starts_with(&format!("{key}: |")))
        .unwrap_or_else(|| panic!("no {key} block after {after}"));
    let indent = header.len() - header.trim_start().len();
    lines
        .take_while(|line| line.trim().is_empty() || line.len() - line.trim_start().len() > indent)
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first line after the first line containing `after` that starts with `key:`, its value.
fn field<'a>(text: &'a str, after: &str, key: &str) -> &'a str {
    let start = text.find(after).unwrap_or_else(|| panic!("no {after}"));
    text[start..]
        .lines()
        .find_map(|line| line.trim_start().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} after {after}"))
        .trim()
}

#[test]
fn a_release_is_judged_by_the_series_and_thresholds_the_alerts_page_on() {
    let alerts = read("deploy/kubernetes/base/alerts.yaml");
    let analysis = read("deploy/kubernetes/components/progressive-delivery/analysis-template.yaml");

    // The error ratio is HighErrorRatio's expression, and a failing measurement is what
    // would page.
    let paging = block(&alerts, "- alert: HighErrorRatio", "expr");
    let judged = block(&analysis, "- name: error-ratio", "query");
    let threshold = paging
        .strip_prefix(&judged)
        .unwrap_or_else(|| panic!("the analysis asks {judged:?}, the alert {paging:?}"));
    assert_eq!(threshold.trim(), "> 0.05");
    assert!(
        field(&analysis, "- name: error-ratio", "successCondition").ends_with("result[0] <= 0.05"),
        "the canary fails where the alert fires"
    );
    // The latency SLO: 99% of requests within the alert's 250 ms bucket.
    assert!(alerts.contains("le=\"0.25\""));
    let latency = block(&analysis, "- name: p99-latency", "query");
    assert!(latency.starts_with("histogram_quantile(0.99,"), "{latency}");
    assert!(
        field(&analysis, "- name: p99-latency", "successCondition").ends_with("result[0] <= 0.25")
    );
    // Two failed measurements of either metric abort the release.
    assert_eq!(analysis.matches("failureLimit: 1\n").count(), 2);
}

#[test]
fn the_canary_moves_in_steps_each_held_by_the_analysis() {
    let component = read("deploy/kubernetes/components/progressive-delivery/kustomization.yaml");
    let canary = read("deploy/kubernetes/overlays/canary/rollout.yaml");
    let blue_green = read("deploy/kubernetes/overlays/blue-green/rollout.yaml");
    let deployment = read("deploy/kubernetes/base/deployment.yaml");
    let template = field(
        &read("deploy/kubernetes/components/progressive-delivery/analysis-template.yaml"),
        "kind: AnalysisTemplate",
        "name",
    )
    .to_owned();
    let deployment_name = field(&deployment, "kind: Deployment", "name");

    // 10%, 30%, 60%, each followed by an analysis of the template before the next step.
    let steps: Vec<&str> = canary
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("- setWeight:") || line.starts_with("- templateName:"))
        .collect();
    let expected_analysis = format!("- templateName: {template}");
    assert_eq!(
        steps,
        [
            "- setWeight: 10",
            expected_analysis.as_str(),
            "- setWeight: 30",
            expected_analysis.as_str(),
            "- setWeight: 60",
            expected_analysis.as_str(),
        ]
    );
    // Both strategies run the Deployment's pod template, and the Deployment alone runs nothing.
    for rollout in [&canary, &blue_green] {
        assert_eq!(field(rollout, "workloadRef:", "name"), deployment_name);
    }
    assert!(component.contains("path: /spec/replicas\n        value: 0\n"));
    assert!(component.contains("path: /spec/scaleTargetRef\n"));
    assert!(component.contains("kind: Rollout\n"));
    // Blue-green switches only after the analysis and a person.
    assert_eq!(
        field(&blue_green, "blueGreen:", "autoPromotionEnabled"),
        "false"
    );
    assert!(blue_green.contains(&format!(
        "prePromotionAnalysis:\n        templates:\n          - templateName: {template}\n"
    )));
}
