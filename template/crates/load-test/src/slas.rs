//! The service's SLAs as load-test thresholds: the numbers of `TODO_backend-architect.md`
//! (Context, "Performance SLAs"), held per kind of request, and the error budget of its
//! availability target. A test keeps the two in step: change an SLA in both places.
//!
//! This module must not know what traffic is sent; `traffic` says which requests each SLA holds.

/// The share of requests that may fail: 99.9% availability leaves 0.1%.
pub const ERROR_BUDGET_PERCENT: &str = "0.1";

/// What one kind of request is held to.
pub struct Sla {
    /// The request as goose names it: method and name (`GET item`).
    pub request: &'static str,
    /// The kind of request, as the SLA line in the TODO file names it (`single reads`).
    pub class: &'static str,
    /// The 95th percentile's limit, in milliseconds.
    pub p95_ms: u32,
    /// The 99th percentile's limit, in milliseconds.
    pub p99_ms: u32,
}

impl std::fmt::Display for Sla {
    /// As the TODO file states it, with the request it holds: `GET item: single reads p95 < 50
    /// ms, p99 < 100 ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} p95 < {} ms, p99 < {} ms",
            self.request, self.class, self.p95_ms, self.p99_ms
        )
    }
}

/// The goose `--threshold` rules of `slas`, and the error budget.
pub fn thresholds(slas: &[Sla]) -> Vec<String> {
    let mut rules = vec![format!("error-rate<={ERROR_BUDGET_PERCENT}%")];
    for sla in slas {
        rules.push(format!("p95<{}ms for {}", sla.p95_ms, sla.request));
        rules.push(format!("p99<{}ms for {}", sla.p99_ms, sla.request));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::SLAS;

    #[test]
    fn every_threshold_is_a_rule_goose_accepts() {
        for rule in thresholds(&SLAS) {
            assert!(
                rule.parse::<goose::threshold::Threshold>().is_ok(),
                "{rule}"
            );
        }
    }

    #[test]
    fn the_thresholds_are_the_slas_of_the_todo_file() {
        let todo = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../TODO_backend-architect.md"
        ))
        .expect("the TODO file at the workspace root");
        let slas = todo
            .lines()
            .skip_while(|line| !line.contains("**Performance SLAs**"))
            .take_while(|line| !line.trim().is_empty() && !line.contains("**Security"))
            .collect::<Vec<_>>()
            .join(" ");
        let slas = slas.split_whitespace().collect::<Vec<_>>().join(" ");
        for sla in &SLAS {
            let shown = sla.to_string();
            let stated = shown
                .split_once(": ")
                .map_or(shown.as_str(), |(_, stated)| stated);
            assert!(slas.contains(stated), "{stated:?} is not in {slas:?}");
        }
        let budget = format!("at most {ERROR_BUDGET_PERCENT}% failed requests");
        assert!(slas.contains(&budget), "{budget:?} is not in {slas:?}");
    }
}
