//! The alert rules shipped in `deploy/kubernetes/base/alerts.yaml` each link a runbook that
//! exists and says what the alert means, how to confirm it and what to do. (Whether each alert
//! fires when it should is `promtool test rules alerts.test.yaml`'s job.)

use std::path::Path;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The value after `key:` on each line that has it, in order.
fn values_of<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().trim_start_matches("- ");
            rest.strip_prefix(key)?.strip_prefix(':')
        })
        .map(|value| value.trim().trim_matches('"'))
        .collect()
}

#[test]
fn every_alert_links_a_runbook_that_explains_it() {
    let rules = std::fs::read_to_string(Path::new(ROOT).join("deploy/kubernetes/base/alerts.yaml"))
        .unwrap();
    let alerts = values_of(&rules, "alert");
    let runbooks = values_of(&rules, "runbook_url");
    assert!(alerts.len() >= 5, "{alerts:?}");
    assert_eq!(alerts.len(), runbooks.len(), "one runbook per alert");
    for (alert, runbook) in alerts.iter().zip(&runbooks) {
        let text = std::fs::read_to_string(Path::new(ROOT).join(runbook))
            .unwrap_or_else(|error| panic!("{alert}: runbook {runbook}: {error}"));
        assert!(
            text.starts_with(&format!("# Alert: {alert}\n")),
            "{runbook} is not titled after {alert}"
        );
        for section in ["## What it means", "## Confirm", "## Act"] {
            assert!(text.contains(section), "{runbook} lacks {section:?}");
        }
    }
}
