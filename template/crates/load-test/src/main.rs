//! The load test: realistic traffic against a running service, judged by its SLAs.
//!
//! ```sh
//! cargo run --release -p load-test -- --host http://127.0.0.1:8080 --run-time 60s \
//!     --report-file load-test.html --report-file load-test.json
//! ```
//!
//! Every goose option works (`--help`): users (`-u`, default 20), hatch rate (`-r`, default 20 a second), run time
//! (`-t`, default 60 s), more `--threshold` rules (which replace the default ones). The run
//! exits non-zero when a threshold fails, so a pipeline stops on it. What is sent is in
//! `traffic`; who sends it in `credentials`. This file only assembles them.

mod credentials;
mod slas;
mod traffic;

use goose::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let credentials = credentials::Credentials::from_environment()?;
    let (prepare, scenario) = traffic::scenario(credentials)?;
    let mut attack = GooseAttack::initialize()?
        // Each user's actions in a shuffled order of the weights: in a short run, round robin
        // would send mostly the first ones.
        .set_scheduler(GooseScheduler::Random)
        .test_start(prepare)
        .register_scenario(scenario)
        .set_default(GooseDefault::Users, 20)?
        .set_default(GooseDefault::IncreaseRate, "20")?
        .set_default(GooseDefault::RunTime, 60)?
        .set_default(GooseDefault::ReportFile, "load-test.html")?;
    // Judge the rules on the whole run, not on its first seconds' handful of samples (a longer
    // run still stops at the first rule broken after this delay). Goose refuses a delay beside
    // `--no-threshold-abort`, so the default stays out of such a run.
    if !std::env::args().any(|argument| argument == "--no-threshold-abort") {
        attack = attack.set_default(GooseDefault::ThresholdAbortDelay, 30)?;
    }
    for sla in &traffic::SLAS {
        println!("held to the SLA {sla}");
    }
    for rule in slas::thresholds(&traffic::SLAS) {
        attack = attack.set_default(GooseDefault::Threshold, rule.as_str())?;
    }
    let outcome = attack.execute().await;
    // Goose runs the preparation but ignores its result: a run without tenants sent nothing.
    if let Some(failure) = traffic::preparation_failure() {
        return Err(format!("the run could not be prepared: {failure}").into());
    }
    outcome?;
    Ok(())
}
