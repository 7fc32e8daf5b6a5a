//! The alert rules shipped in `deploy/kubernetes/base/alerts.yaml` each link a runbook that
//! exists and says what the alert means, how to confirm it and what to do. (Whether each alert
//! fires when it should is `promtool test rules alerts.test.yaml`'s job.)

use std::path::Path;

use crate::manifests::values_of;
use crate::{ROOT, read};

#[test]
fn every_alert_links_a_runbook_that_explains_it() {
    let rules = read("deploy/kubernetes/base/alerts.yaml");
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
