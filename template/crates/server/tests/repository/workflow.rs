//! The generated CI workflow runs every gate this project relies on, with actions pinned by
//! commit and read-only permissions. (actionlint and zizmor lint it in the template's
//! harness; this test pins what must not silently disappear from it.)

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[test]
fn the_ci_workflow_runs_every_gate_with_pinned_actions() {
    let workflow = std::fs::read_to_string(format!("{ROOT}/.github/workflows/ci.yml")).unwrap();
    for gate in [
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
    for line in workflow.lines().filter(|line| line.contains("uses: ")) {
        let reference = line.split('@').nth(1).unwrap_or_default();
        let sha = reference.split_whitespace().next().unwrap_or_default();
        assert!(
            sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
            "actions are pinned by commit SHA: {line}"
        );
    }
}
