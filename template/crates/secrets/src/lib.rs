//! Settings that must never print. A [`Secret`] shows as `***` in `Debug` output and when the
//! configuration is serialised (the `config` subcommand, the start-up log line); a
//! [`SecretUrl`] shows its scheme, user and host with the password masked, which is what an
//! operator needs to see. Reading the value takes an explicit [`Secret::expose`], so a secret
//! cannot reach a log, a problem or an error message by accident: redaction falls out of the
//! type, not out of a hand-kept list.
//!
//! This crate must not grow: no validation (each setting's owner does that), and no parsing
//! beyond what masking a URL needs.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// A password, key or token from the configuration.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that uses it (a key, a signature, a connection).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no value is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// A connection URL that may carry a password (`postgres://app:password@db:5432/app`).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// A URL holding `value`.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The whole URL, password included, for the one place that connects with it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no URL is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The URL as it may be shown: the password masked (`scheme://user:***@host/...`), and
    /// the value of any query parameter that carries a credential (`?password=`, libpq's
    /// `sslpassword=`, a token or a key). A value that does not parse as a URL (a careless
    /// password holding `/`, `?` or `@` unencoded) is shown as `scheme://***`: when in doubt,
    /// more is masked, never less.
    #[must_use]
    pub fn redacted(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let Ok(mut url) = url::Url::parse(&self.0) else {
            return match self.0.split_once("://") {
                Some((scheme, _)) => format!("{scheme}://***"),
                None => "***".to_owned(),
            };
        };
        // NATS reads a user name without a password as the connection's token.
        let token_as_user = url.scheme() == "nats" && url.password().is_none();
        if url.password().is_some() {
            // Fails only for URLs that cannot have a password, which this one has.
            let _ = url.set_password(Some("***"));
        } else if token_as_user && !url.username().is_empty() {
            let _ = url.set_username("***");
        }
        if url.query().is_some() {
            let parameters: Vec<(String, String)> = url
                .query_pairs()
                .map(|(name, value)| {
                    let value = if names_a_credential(&name) {
                        "***".to_owned()
                    } else {
                        value.into_owned()
                    };
                    (name.into_owned(), value)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(parameters);
        }
        url.into()
    }
}

/// Whether a query parameter's name says it carries a credential.
fn names_a_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "secret", "token", "key"]
        .iter()
        .any(|word| name.contains(word))
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_and_reads_only_when_asked() {
        let secret: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn a_url_prints_without_its_password() {
        let url = SecretUrl::new("postgres://app:hunter2@db.internal:5432/app");
        assert_eq!(
            format!("{url:?}"),
            "postgres://app:***@db.internal:5432/app"
        );
        assert_eq!(
            serde_json::to_string(&url).unwrap(),
            "\"postgres://app:***@db.internal:5432/app\""
        );
        assert_eq!(
            SecretUrl::new("redis://cache:6379").redacted(),
            "redis://cache:6379",
            "nothing to hide"
        );
        assert!(url.expose().contains("hunter2"));
        assert_eq!(
            SecretUrl::new("postgres://app:s3cr:et@db:5432/app").redacted(),
            "postgres://app:***@db:5432/app",
            "a password with a colon"
        );
        assert_eq!(
            SecretUrl::new("redis://:hunter2@cache:6379").redacted(),
            "redis://:***@cache:6379",
            "a password without a user"
        );
    }

    #[test]
    fn credentials_in_the_query_string_are_masked_too() {
        let url = SecretUrl::new(
            "postgres://app@db:5432/app?sslmode=verify-full&password=hunter2&sslpassword=s3cret",
        );
        assert_eq!(
            url.redacted(),
            "postgres://app@db:5432/app?sslmode=verify-full&password=***&sslpassword=***"
        );
        let url = SecretUrl::new("amqp://broker:5672/%2f?auth_token=abc123&heartbeat=10");
        assert_eq!(
            url.redacted(),
            "amqp://broker:5672/%2f?auth_token=***&heartbeat=10"
        );
        let url = SecretUrl::new("postgres://db/app?password=p@ss");
        assert_eq!(url.redacted(), "postgres://db/app?password=***");
        let careless = SecretUrl::new("postgres://app:pa/ss?w@rd@db:5432/app");
        assert_eq!(
            careless.redacted(),
            "postgres://***",
            "not a URL: all masked"
        );
        assert_eq!(SecretUrl::default().redacted(), "", "nothing set");
    }

    #[test]
    fn a_nats_token_in_the_user_name_is_masked() {
        let url = SecretUrl::new("nats://s3cret-token@broker:4222");
        assert_eq!(url.redacted(), "nats://***@broker:4222");
    }
}
