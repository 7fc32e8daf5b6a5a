//! Settings that must never print. A [`Secret`] shows as `***` in `Debug` output and when the
//! configuration is serialised (the `config` subcommand, the start-up log line); a
//! [`SecretUrl`] shows its scheme, user and host with the password masked, which is what an
//! operator needs to see. Reading the value takes an explicit [`Secret::expose`], so a secret
//! cannot reach a log, a problem or an error message by accident: redaction falls out of the
//! type, not out of a hand-kept list.
//!
//! This crate must not grow: no parsing, no validation (each setting's owner does that).

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

    /// The URL as it may be shown: `scheme://user:***@host/...` when it holds a password.
    #[must_use]
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        let Some((userinfo, host)) = rest.rsplit_once('@') else {
            return self.0.clone();
        };
        match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
            None => self.0.clone(),
        }
    }
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
}
