//! What the Kubernetes manifests promise about the pods, checked on the files themselves:
//! hardened containers, zero-downtime rolling updates, a grace period that outlasts the
//! `preStop` pause plus the service's own drain (`http.shutdown_timeout_ms`), and releases
//! (canary, blue-green) judged by the same series and thresholds the alerts page on. Schema validity
//! and checkov's policies are the template harness's job (`kubernetes-validate --strict`).

use crate::read;

/// The value after `key:` on each line that has it, in order, without a list dash before the
/// key or quotes around the value. (The alert and policy checks read their YAML this way too.)
pub(crate) fn values_of<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().trim_start_matches("- ");
            rest.strip_prefix(key)?.strip_prefix(':')
        })
        .map(|value| value.trim().trim_matches('"'))
        .collect()
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

/// The value of the first `key:` from the first line containing `after` on (`""`: from the top).
pub(crate) fn field<'a>(text: &'a str, after: &str, key: &str) -> &'a str {
    let start = text.find(after).unwrap_or_else(|| panic!("no {after}"));
    values_of(&text[start..], key)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no {key} after {after}"))
}

/// `text` with its whitespace runs made single spaces: layout never decides a check.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The selector the analysis adds to every series: the new pods' template hash, an Argo
/// argument (spelled so that the template engine this file was generated with leaves it be).
fn canary_filter() -> String {
    format!(
        ",rollouts_pod_template_hash=\"{}{}args.canary-hash{}\"",
        '{', '{', "}}"
    )
}

/// A metric fails where the alert fires (above `threshold`), passes at or below it, and no
/// data (no series, or no request: NaN) decides nothing, so a person looks.
fn assert_judged_at(analysis: &str, metric: &str, threshold: &str) {
    assert_eq!(
        field(analysis, metric, "successCondition"),
        format!("len(result) > 0 && !isNaN(result[0]) && result[0] <= {threshold}")
    );
    assert_eq!(
        field(analysis, metric, "failureCondition"),
        format!("len(result) > 0 && result[0] > {threshold}")
    );
}

#[test]
fn a_release_is_judged_by_the_series_and_thresholds_the_alerts_page_on() {
    let alerts = read("deploy/kubernetes/base/alerts.yaml");
    let analysis = read("deploy/kubernetes/components/progressive-delivery/analysis-template.yaml");
    let filter = canary_filter();

    // The error ratio is HighErrorRatio's expression, on the new pods' series only.
    let paging = block(&alerts, "- alert: HighErrorRatio", "expr");
    let judged = block(&analysis, "- name: error-ratio", "query");
    assert_eq!(
        judged.matches(&filter).count(),
        judged.matches("job=").count(),
        "every series the analysis reads is the new pods': {judged}"
    );
    assert_eq!(
        format!("{} > 0.05", judged.replace(&filter, "")),
        paging,
        "the analysis asks what the alert asks"
    );
    assert_judged_at(&analysis, "- name: error-ratio", "0.05");

    // Slow requests: LatencySLOBurn's 5-minute expression and its threshold.
    let burning = block(&alerts, "- alert: LatencySLOBurn", "expr");
    let slow = block(&analysis, "- name: slow-requests", "query");
    assert_eq!(slow.matches(&filter).count(), slow.matches("job=").count());
    let slow = slow.replace(&filter, "");
    assert!(
        slow.contains("[5m]") && burning.contains(&format!("( {slow} ) > (14.4 * 0.01)")),
        "the analysis's {slow:?} is not the alert's {burning:?}"
    );
    assert_judged_at(&analysis, "- name: slow-requests", "14.4 * 0.01");
    // Two failing measurements of either metric abort the release.
    assert_eq!(analysis.matches("failureLimit: 1\n").count(), 2);
}

#[test]
fn the_canary_moves_in_steps_each_held_by_the_analysis() {
    let component = flat(&read(
        "deploy/kubernetes/components/progressive-delivery/kustomization.yaml",
    ));
    let canary = read("deploy/kubernetes/overlays/canary/rollout.yaml");
    let blue_green = read("deploy/kubernetes/overlays/blue-green/rollout.yaml");
    let deployment = read("deploy/kubernetes/base/deployment.yaml");
    let hpa = read("deploy/kubernetes/base/hpa.yaml");
    let template = field(
        &read("deploy/kubernetes/components/progressive-delivery/analysis-template.yaml"),
        "kind: AnalysisTemplate",
        "name",
    )
    .to_owned();
    let deployment_name = field(&deployment, "kind: Deployment", "name");
    let rollout_name = field(&canary, "kind: Rollout", "name");

    // 10%, 30%, 60%, each followed by an analysis of the new pods before the next step.
    let steps: Vec<&str> = canary
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("- setWeight:") || line.starts_with("- templateName:"))
        .collect();
    let analysis_step = format!("- templateName: {template}");
    assert_eq!(
        steps,
        [
            "- setWeight: 10",
            analysis_step.as_str(),
            "- setWeight: 30",
            analysis_step.as_str(),
            "- setWeight: 60",
            analysis_step.as_str(),
        ]
    );
    let new_pods = "args: - name: canary-hash valueFrom: podTemplateHashValue: Latest";
    assert_eq!(flat(&canary).matches(new_pods).count(), 3);

    // Both overlays are production, with the shared part: the Rollout runs the Deployment's
    // template, the Deployment itself runs nothing, and the autoscaler scales the Rollout.
    for overlay in ["canary", "blue-green"] {
        let kustomization = flat(&read(&format!(
            "deploy/kubernetes/overlays/{overlay}/kustomization.yaml"
        )));
        assert!(
            kustomization.contains("resources: - ../production - rollout.yaml")
                && kustomization.contains("components: - ../../components/progressive-delivery"),
            "{overlay}: {kustomization}"
        );
    }
    for rollout in [&canary, &blue_green] {
        assert_eq!(field(rollout, "workloadRef:", "name"), deployment_name);
        assert_eq!(field(rollout, "kind: Rollout", "name"), rollout_name);
    }
    assert!(component.contains(&format!(
        "kind: Deployment name: {deployment_name} patch: |- - op: replace path: /spec/replicas value: 0"
    )));
    let hpa_name = field(&hpa, "kind: HorizontalPodAutoscaler", "name");
    assert!(component.contains(&format!(
        "kind: HorizontalPodAutoscaler name: {hpa_name} patch: |- - op: replace path: \
         /spec/scaleTargetRef value: apiVersion: argoproj.io/v1alpha1 kind: Rollout name: \
         {rollout_name}"
    )));

    // Blue-green: a person promotes, then the analysis judges the new pods on real traffic.
    assert_eq!(
        field(&blue_green, "blueGreen:", "autoPromotionEnabled"),
        "false"
    );
    assert!(flat(&blue_green).contains(&format!(
        "postPromotionAnalysis: templates: - templateName: {template} {new_pods}"
    )));
}

#[test]
fn the_disruption_budget_covers_the_service_pods() {
    // A policy/v1 budget without a selector covers no pod: drains could take them all.
    let budget = flat(&read("deploy/kubernetes/base/pdb.yaml"));
    let deployment = read("deploy/kubernetes/base/deployment.yaml");
    let name = field(&deployment, "kind: Deployment", "name");
    assert!(
        budget.contains(&format!(
            "selector: matchLabels: app.kubernetes.io/name: {name}"
        )),
        "{budget}"
    );
    assert!(budget.contains("minAvailable: 1"));
}
