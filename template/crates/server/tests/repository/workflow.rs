//! The generated workflows run every gate this project relies on: the checks of each change,
//! the daily advisories, and a release that scans before it signs. Actions are pinned by
//! commit, permissions read-only unless a job needs more. (actionlint, zizmor and SchemaStore's
//! schemas lint the files in the template's harness; these tests pin what must not silently
//! disappear from them.)

use crate::read;

/// A GitHub Actions expression around `inner` (dollar sign, two braces, ..., two braces),
/// spelled so that the template engine this file was generated with does not take it for one
/// of its own.
fn expression(inner: &str) -> String {
    format!("${}{} {inner} {}", '{', '{', "}}")
}

/// `image@digest`, each an Actions expression: an image pinned by the digest it was pushed as.
fn by_digest(image: &str, digest: &str) -> String {
    format!("{}@{}", expression(image), expression(digest))
}

/// `text` from the first line containing `start` up to (not including) the next line that
/// begins a step (`      - `) or a job, so one step's settings can be checked on their own.
fn step<'a>(text: &'a str, start: &str) -> &'a str {
    let begin = text
        .find(start)
        .unwrap_or_else(|| panic!("no step with {start}"));
    let rest = &text[begin..];
    let end = rest
        .match_indices("\n      - ")
        .map(|(at, _)| at)
        .chain(rest.match_indices("\n  ").filter_map(|(at, _)| {
            (rest[at + 3..].starts_with(|c: char| c.is_ascii_alphabetic())).then_some(at)
        }))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// What makes a scan a gate: vulnerabilities only (not a secret scanner's opinions), OS
/// packages and the crates, HIGH and CRITICAL with a fix available, and a failing exit code.
fn assert_scan_is_a_gate(scan: &str) {
    for setting in [
        "scanners: vuln",
        "vuln-type: os,library",
        "severity: HIGH,CRITICAL",
        "ignore-unfixed: true",
        "exit-code: \"1\"",
    ] {
        assert!(scan.contains(setting), "the scan {setting}: {scan}");
    }
}

#[test]
fn the_ci_workflow_runs_every_gate_with_pinned_actions() {
    let workflow = read(".github/workflows/ci.yml");
    for gate in [
        "rustup toolchain install",
        "cargo fmt --all -- --check",
        "cargo clippy --all-targets --locked -- -D warnings",
        "cargo test --locked",
        "cargo sqlx prepare --workspace --check",
        "cargo deny --locked check bans licenses sources",
        "docker/build-push-action@",
    ] {
        assert!(workflow.contains(gate), "ci.yml no longer runs {gate}");
    }
    assert!(workflow.contains("permissions:\n  contents: read\n"));
    // Pull requests get the release's scan, so a vulnerable base image is seen before merging.
    let build = step(&workflow, "uses: docker/build-push-action@");
    assert!(
        build.contains("load: true"),
        "the scanned image is the one just built: {build}"
    );
    let scan = step(&workflow, "uses: aquasecurity/trivy-action@");
    let built = format!("image-ref: service:{}", expression("github.sha"));
    assert!(scan.contains(&built), "{scan}");
    assert_scan_is_a_gate(scan);
}

#[test]
fn every_action_is_pinned_by_commit_and_every_job_has_a_timeout() {
    for name in ["ci.yml", "advisories.yml", "release.yml"] {
        let workflow = read(&format!(".github/workflows/{name}"));
        for line in workflow.lines().filter(|line| line.contains("uses: ")) {
            let reference = line.split('@').nth(1).unwrap_or_default();
            let sha = reference.split_whitespace().next().unwrap_or_default();
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}: actions are pinned by commit SHA: {line}"
            );
            assert!(
                line.contains(" # v"),
                "{name}: the version the SHA stands for is written beside it: {line}"
            );
        }
        assert_eq!(
            workflow.matches("runs-on: ").count(),
            workflow.matches("timeout-minutes: ").count(),
            "{name}: every job has a timeout"
        );
        assert!(
            workflow.contains("permissions:\n  contents: read\n"),
            "{name}: read-only unless a job asks for more"
        );
        assert!(
            !workflow.contains("dtolnay/rust-toolchain"),
            "{name}: the toolchain comes from rust-toolchain.toml"
        );
    }
}

#[test]
fn advisories_are_checked_on_every_change_and_every_day() {
    let workflow = read(".github/workflows/advisories.yml");
    for trigger in ["push:", "pull_request:", "schedule:", "- cron: "] {
        assert!(
            workflow.contains(trigger),
            "advisories.yml runs on {trigger}"
        );
    }
    assert!(workflow.contains("run: cargo deny --locked check advisories"));
    let policy = read("deny.toml");
    assert!(
        policy.contains("[advisories]\n") && policy.contains("yanked = \"deny\""),
        "deny.toml says which advisories fail the check"
    );
}

#[test]
fn the_release_scans_the_pushed_image_before_it_signs_it() {
    let release = read(".github/workflows/release.yml");
    let (image_job, sign_job) = release
        .split_once("\n  sign:\n")
        .expect("signing is a job of its own");
    let build = step(image_job, "uses: docker/build-push-action@");
    for setting in ["push: true", "sbom: true", "provenance: mode=max"] {
        assert!(
            build.contains(setting),
            "the image is pushed with its SBOM and provenance: {build}"
        );
    }
    let pushed = by_digest("steps.name.outputs.image", "steps.push.outputs.digest");
    let scan = step(image_job, "uses: aquasecurity/trivy-action@");
    assert!(scan.contains(&format!("image-ref: {pushed}")), "{scan}");
    assert_scan_is_a_gate(scan);
    let sbom = step(image_job, "uses: anchore/sbom-action@");
    assert!(sbom.contains(&format!("image: {pushed}")), "{sbom}");
    assert!(sbom.contains("format: cyclonedx-json"), "{sbom}");
    assert!(
        !image_job.contains("id-token: write"),
        "the build, the scanner and the SBOM tool never hold the signing token"
    );

    // A job that `needs` another runs only when that one succeeded: a failed scan leaves the
    // image unsigned.
    assert!(sign_job.contains("    needs: image\n"), "{sign_job}");
    assert!(
        sign_job.contains("      id-token: write"),
        "keyless signing needs the OIDC token"
    );
    let signed = format!(
        "IMAGE: {}",
        by_digest("needs.image.outputs.image", "needs.image.outputs.digest")
    );
    let sign = step(sign_job, "name: Sign the image");
    assert!(sign.contains(&signed), "{sign}");
    // The format the cluster's policy reads (release.yml says why).
    assert!(
        sign.contains(
            "cosign sign --yes --new-bundle-format=false --use-signing-config=false \"$IMAGE\""
        ),
        "{sign}"
    );
    assert!(
        image_job.contains(&format!(
            "digest: {}",
            expression("steps.push.outputs.digest")
        )),
        "the digest signed is the digest pushed and scanned"
    );
    assert!(
        release.contains("    branches: [main]"),
        "the identity verifiers expect"
    );
}

#[test]
fn dependabot_proposes_updates_for_crates_toolchain_actions_and_images() {
    let dependabot = read(".github/dependabot.yml");
    for ecosystem in [
        "cargo",
        "rust-toolchain",
        "github-actions",
        "docker",
        "docker-compose",
    ] {
        assert!(
            dependabot.contains(&format!("- package-ecosystem: {ecosystem}\n")),
            "dependabot.yml watches {ecosystem}"
        );
    }
    assert_eq!(
        dependabot
            .matches("    cooldown:\n      default-days: 7\n")
            .count(),
        dependabot.matches("- package-ecosystem: ").count(),
        "every update waits until its release is a week old"
    );
}
