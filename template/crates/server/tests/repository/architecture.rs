//! The dependency rule, checked on the resolved dependency graph: the domain knows no
//! infrastructure, and each adapter knows only its own technology. A violation fails here even
//! if it arrives indirectly, through another crate.

use std::process::Command;

/// The crates `package` depends on (normal dependencies, transitively), by name.
fn dependencies_of(package: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--package",
            package,
            "--edges",
            "normal",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap_or_else(|error| panic!("cannot run cargo tree: {error}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_free_of(package: &str, forbidden: &[&str]) {
    let dependencies = dependencies_of(package);
    assert!(
        !dependencies.is_empty(),
        "cargo tree listed nothing for {package}"
    );
    let offending: Vec<&String> = dependencies
        .iter()
        .filter(|name| forbidden.iter().any(|prefix| name.starts_with(prefix)))
        .collect();
    assert!(
        offending.is_empty(),
        "{package} must not depend on {offending:?}"
    );
}

#[test]
fn the_domain_depends_on_no_infrastructure() {
    assert_free_of(
        "domain",
        &[
            "axum",
            "hyper",
            "tower",
            "utoipa",
            "sqlx",
            "redis",
            "opentelemetry",
            "tracing-opentelemetry",
            "reqwest",
            "tokio",
            "serde_json",
            "telemetry",
        ],
    );
}

/// The adapter rings: each may depend on the domain and its own technology, never on another.
const ADAPTERS: [&str; 9] = [
    "adapter-http",
    "adapter-postgres",
    "adapter-sqlite",
    "adapter-redis",
    "adapter-memory",
    "adapter-webhook",
    "adapter-flags",
    "adapter-rabbitmq",
    "adapter-nats",
];

/// What `ring` must not depend on: every adapter but itself, and `technologies`.
fn foreign_to(ring: &str, technologies: &[&'static str]) -> Vec<&'static str> {
    ADAPTERS
        .into_iter()
        .filter(|adapter| *adapter != ring)
        .chain(technologies.iter().copied())
        .collect()
}

#[test]
fn the_http_adapter_touches_no_database_or_cache() {
    assert_free_of(
        "adapter-http",
        &foreign_to("adapter-http", &["sqlx", "redis"]),
    );
}

#[test]
fn the_postgres_adapter_knows_no_http_or_redis() {
    assert_free_of(
        "adapter-postgres",
        &foreign_to(
            "adapter-postgres",
            &["axum", "redis", "utoipa", "sqlx-sqlite", "libsqlite3-sys"],
        ),
    );
}

#[test]
fn the_field_cipher_knows_no_database_domain_or_adapter() {
    assert_free_of(
        "field-cipher",
        &foreign_to("field-cipher", &["domain", "sqlx", "redis", "axum"]),
    );
}

#[test]
fn the_webhook_memory_and_flag_adapters_know_no_other_ring_but_the_domain() {
    assert_free_of(
        "adapter-webhook",
        &foreign_to("adapter-webhook", &["axum", "sqlx", "redis"]),
    );
    assert_free_of(
        "adapter-memory",
        &foreign_to("adapter-memory", &["axum", "sqlx", "redis", "reqwest"]),
    );
    assert_free_of(
        "adapter-flags",
        &foreign_to("adapter-flags", &["axum", "sqlx", "redis", "reqwest"]),
    );
}

/// An adapter an option keeps or leaves out, as a whole crate.
struct OptionalAdapter {
    ring: &'static str,
    /// What it must not know where the service has it (besides the other adapters).
    technologies: &'static [&'static str],
    /// What the service must not carry where an option left it out, so that nothing pulls its
    /// technology back in unannounced.
    libraries: &'static [&'static str],
}

const OPTIONAL_ADAPTERS: [OptionalAdapter; 4] = [
    OptionalAdapter {
        ring: "adapter-sqlite",
        technologies: &["axum", "redis", "utoipa", "sqlx-postgres"],
        libraries: &["adapter-sqlite", "sqlx-sqlite", "libsqlite3-sys"],
    },
    OptionalAdapter {
        ring: "adapter-redis",
        technologies: &["axum", "sqlx", "utoipa"],
        libraries: &["adapter-redis", "redis"],
    },
    OptionalAdapter {
        ring: "adapter-rabbitmq",
        technologies: &["axum", "sqlx", "redis", "utoipa"],
        libraries: &["adapter-rabbitmq", "lapin"],
    },
    OptionalAdapter {
        ring: "adapter-nats",
        technologies: &["axum", "sqlx", "redis", "utoipa"],
        libraries: &["adapter-nats", "async-nats"],
    },
];

/// `path` under the workspace's `crates/` folder exists.
fn workspace_has(path: &str) -> bool {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .exists()
}

#[test]
fn each_optional_adapter_knows_only_its_technology_or_is_wholly_absent() {
    let service = dependencies_of("service");
    assert!(!service.is_empty(), "cargo tree listed nothing for service");
    for adapter in &OPTIONAL_ADAPTERS {
        if workspace_has(adapter.ring) {
            assert!(
                service.iter().any(|name| name == adapter.ring),
                "the service does not use {}",
                adapter.ring
            );
            assert_free_of(
                adapter.ring,
                &foreign_to(adapter.ring, adapter.technologies),
            );
        } else {
            let carried: Vec<&String> = service
                .iter()
                .filter(|name| {
                    adapter
                        .libraries
                        .iter()
                        .any(|library| name.starts_with(library))
                })
                .collect();
            assert!(
                carried.is_empty(),
                "{} was left out, yet the service carries {carried:?}",
                adapter.ring
            );
        }
    }
}

#[test]
fn token_verification_comes_only_with_auth_jwt() {
    // With `auth=none` no JWT library may come back and half-check tokens; with `auth=jwt` the
    // verifier (`adapter-http/src/auth/`) is what uses it.
    let verifies_tokens = workspace_has("adapter-http/src/auth/mod.rs");
    let carries_jwt = dependencies_of("service")
        .iter()
        .any(|name| name == "jsonwebtoken");
    assert_eq!(carries_jwt, verifies_tokens);
}

#[test]
fn the_secrets_type_knows_nothing_but_serde() {
    assert_free_of(
        "secrets",
        &foreign_to("secrets", &["domain", "sqlx", "redis", "axum", "telemetry"]),
    );
}

#[test]
fn telemetry_knows_neither_the_domain_nor_the_adapters() {
    assert_free_of(
        "telemetry",
        &foreign_to("telemetry", &["domain", "sqlx", "redis"]),
    );
}

#[test]
fn the_tree_has_one_crypto_provider() {
    // rustls panics at run time when it finds two providers and none is chosen; keep aws-lc-rs.
    let everything = dependencies_of("service");
    assert!(
        everything.iter().any(|name| name == "aws-lc-rs"),
        "aws-lc-rs is the provider"
    );
    assert!(
        !everything.iter().any(|name| name == "ring"),
        "ring must not come back"
    );
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn the_http_adapter_is_read_one_way_from_the_router_down() {
    // `router.rs` composes routes, middleware and state; a handler or a leaf that reached back
    // into it would close an import cycle, and the request path would no longer read top down.
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../adapter-http/src");
    let files = rust_files(&source);
    assert!(
        files.len() > 10,
        "read {} files under {source:?}",
        files.len()
    );
    let back_references: Vec<String> = files
        .iter()
        .filter(|path| !path.ends_with("lib.rs") && !path.ends_with("router.rs"))
        .filter(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .contains("crate::router")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        back_references.is_empty(),
        "these name crate::router: {back_references:?}"
    );
}
