//! Checks of the repository itself rather than of the running service, one test binary for
//! all: the dependency rule between the rings, the container image, the deployment manifests,
//! the alert rules and the CI workflows, each read from the files this service ships.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

{% if kubernetes -%}
mod alerts;
{% endif -%}
mod architecture;
mod image;
{% if kubernetes and ci == "github" -%}
mod image_policy;
{% endif -%}
{% if kubernetes -%}
mod manifests;
{% endif -%}
{% if ci == "github" -%}
mod workflow;
{% endif -%}

/// The service's root folder, where the files these checks read live.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A file of this service, as text (a missing file fails the check that asked for it).
fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap()
}
