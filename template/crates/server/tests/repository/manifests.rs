//! What the Kubernetes manifests promise about the pods, checked on the files themselves:
//! hardened containers, zero-downtime rolling updates, and a grace period that outlasts the
//! `preStop` pause plus the service's own drain (`http.shutdown_timeout_ms`). Schema validity
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
