//! The container image as the Dockerfile builds it: a distroless runtime, a non-root user (the
//! same id the manifests and `tests/drain.py` use), and a health check that needs no shell
//! because the binary checks its own readiness. (hadolint and checkov lint the file in the
//! template's harness; this test pins what the service relies on.)

use crate::read;

#[test]
fn the_image_runs_as_nonroot_and_checks_its_own_health() {
    let dockerfile = read("Dockerfile");
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

/// The `major.minor.patch` after `key` and `=` (with or without quotes) on the first line
/// that starts with `key`.
fn version_after(text: &str, key: &str) -> Option<(u32, u32, u32)> {
    let line = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix(key))?;
    let value = line
        .trim_start()
        .strip_prefix('=')?
        .trim()
        .trim_matches('"');
    let mut numbers = value.split('.').map(|number| number.parse().ok());
    let version = (
        numbers.next()??,
        numbers.next()??,
        numbers.next().unwrap_or(Some(0))?,
    );
    numbers.next().is_none().then_some(version)
}

#[test]
fn one_toolchain_builds_every_checkout_and_the_image() {
    let toolchain = read("rust-toolchain.toml");
    let dockerfile = read("Dockerfile");
    let manifest = read("Cargo.toml");

    // An exact release, not a channel that moves under the project (`stable`, `1.95`).
    let channel = toolchain
        .lines()
        .find_map(|line| line.strip_prefix("channel = "))
        .expect("rust-toolchain.toml names a channel")
        .trim_matches('"');
    assert_eq!(
        channel
            .split('.')
            .filter(|n| n.parse::<u32>().is_ok())
            .count(),
        3,
        "the toolchain is pinned to major.minor.patch: {channel}"
    );
    let pinned = version_after(&toolchain, "channel").unwrap();
    assert_eq!(
        version_after(&dockerfile, "ARG RUST_VERSION"),
        Some(pinned),
        "the Dockerfile builds with the toolchain rust-toolchain.toml pins"
    );
    assert!(
        dockerfile.contains("\nFROM rust:${RUST_VERSION}-"),
        "the build stage's image is the one RUST_VERSION names"
    );
    let oldest = version_after(&manifest, "rust-version").expect("Cargo.toml states its MSRV");
    assert!(
        oldest <= pinned,
        "rust-version {oldest:?} is the oldest supported compiler, at most the pinned {pinned:?}"
    );
    // Without it the image scanner and the SBOM see Debian's packages and none of the crates.
    assert!(
        dockerfile.contains("cargo auditable build --release --locked"),
        "the release binary carries its dependency list for scanners"
    );
}
