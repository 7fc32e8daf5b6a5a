//! The container image as the Dockerfile builds it: a distroless runtime, a non-root user (the
//! same id the manifests and `tests/drain.py` use), and a health check that needs no shell
//! because the binary checks its own readiness. (hadolint and checkov lint the file in the
//! template's harness; this test pins what the service relies on.)

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[test]
fn the_image_runs_as_nonroot_and_checks_its_own_health() {
    let dockerfile = std::fs::read_to_string(format!("{ROOT}/Dockerfile")).unwrap();
    let runtime = dockerfile.rsplit("\nFROM ").next().expect("a final stage");
    assert!(
        runtime.starts_with("gcr.io/distroless/cc-debian12:nonroot"),
        "the runtime is distroless: {runtime}"
    );
    assert!(runtime.contains("\nUSER 65532:65532\n"), "{runtime}");
    assert!(
        runtime.contains(r#"CMD ["/app/service", "healthcheck"]"#),
        "the health check runs the binary's own subcommand: {runtime}"
    );
    assert!(
        !runtime.contains("\nRUN "),
        "nothing runs a shell in the runtime stage (distroless has none): {runtime}"
    );
}
