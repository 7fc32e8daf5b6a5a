//! The configuration's tests: layering, `*_FILE` secrets, the production refusals and the
//! redacted output, through `Settings::load` as the service loads it. The rules themselves are
//! written in each section's crate (`validate`); these tests hold the composed result to them.

use super::*;

#[test]
fn compiled_in_defaults_are_complete_and_valid() {
    figment::Jail::expect_with(|_jail| {
        let sources = Sources {
            environment: "none".to_owned(),
            directory: PathBuf::from("/nonexistent"),
        };
        let settings = Settings::load(&sources).map_err(|error| error.to_string())?;
        assert!(settings.database.max_connections >= settings.database.min_connections);
        Ok(())
    });
}

#[test]
fn environment_variables_override_files_and_bad_values_name_the_key() {
    figment::Jail::expect_with(|jail| {
        let sources = Sources {
            environment: "none".to_owned(),
            directory: jail.directory().to_owned(),
        };
        jail.create_file("default.toml", "[http]\nport = 9000\n")?;
        assert_eq!(
            Settings::load(&sources)
                .map_err(|e| e.to_string())?
                .http
                .port,
            9000
        );
        jail.set_env("APP__HTTP__PORT", "9100");
        assert_eq!(
            Settings::load(&sources)
                .map_err(|e| e.to_string())?
                .http
                .port,
            9100
        );
        jail.set_env("APP__HTTP__PORT", "not-a-port");
        let error = Settings::load(&sources).unwrap_err().to_string();
        // figment names the key as the environment spells it (`HTTP.PORT`).
        assert!(error.to_lowercase().contains("http.port"), "{error}");
        Ok(())
    });
}

#[test]
fn the_flags_file_is_named_by_a_variable_not_read_as_a_secret_file() {
    figment::Jail::expect_with(|jail| {
        let sources = Sources {
            environment: "none".to_owned(),
            directory: jail.directory().to_owned(),
        };
        // Kubernetes names the mounted ConfigMap this way (deploy/kubernetes/base): the path
        // must reach `flags.path` as a path, not be read as a `*_FILE` secret.
        jail.create_file(
            "flags.toml",
            "[f]\nowner = \"o\"\nexpires = \"2030-01-01\"\n",
        )?;
        jail.set_env("APP__FLAGS__PATH", "flags.toml");
        jail.set_env("APP__FLAGS__RULES__NEW_CHECKOUT__OWNER", "checkout team");
        jail.set_env("APP__FLAGS__RULES__NEW_CHECKOUT__EXPIRES", "2030-06-30");
        jail.set_env("APP__FLAGS__RULES__NEW_CHECKOUT__ENABLED", "true");
        let settings = Settings::load(&sources).map_err(|error| error.to_string())?;
        assert_eq!(settings.flags.path, "flags.toml");
        let rule = &settings.flags.rules["new_checkout"];
        assert!(rule.enabled && rule.owner == "checkout team");
        jail.set_env("APP__FLAGS__RULES__NEW_CHECKOUT__EXPIRES", "someday");
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(
            error.contains("flags.rules.new_checkout: expires"),
            "{error}"
        );
        Ok(())
    });
}

#[test]
fn production_refuses_the_development_cursor_secret() {
    figment::Jail::expect_with(|jail| {
        let sources = Sources {
            environment: "production".to_owned(),
            directory: jail.directory().to_owned(),
        };
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("http.cursor_secret"), "{error}");
        jail.set_env(
            "APP__HTTP__CURSOR_SECRET",
            "a-real-secret-from-the-secret-store-0123456789",
        );
{% if auth == "jwt" %}        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("auth.hs256_secret"), "{error}");
        // Secrets arrive as mounted files too; the file's trailing newline is not part of it.
        jail.create_file("jwt-secret", "another-real-secret-from-the-secret-store\n")?;
        let path = jail.directory().join("jwt-secret");
        jail.set_env("APP__AUTH__HS256_SECRET_FILE", path.display());
{% endif %}        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("database.encryption_keys"), "{error}");
        jail.set_env(
            "APP__DATABASE__ENCRYPTION_KEYS",
            "prod1:cHJvZHVjdGlvbi1rZXktZnJvbS1hLXZhdWx0LTMyYiE=",
        );
{% if database == "postgres+sqlite" %}        // No development fallbacks in production: the embedded SQLite file is refused...
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("database.url"), "{error}");
{% endif %}        jail.set_env("APP__DATABASE__URL", "postgres://app@db.internal:5432/app");
{% if database == "postgres+sqlite" and cache == "redis" %}        // ...and so is the in-process cache standing in for Redis.
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("redis.url"), "{error}");
        jail.set_env("APP__REDIS__URL", "redis://cache.internal:6379");
{% endif -%}
{% if messaging != "none" %}        // Nor is a service whose events would only pile up in the outbox.
        jail.set_env("APP__MESSAGING__URL", "");
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("messaging.url"), "{error}");
{% if messaging == "rabbitmq" %}        let broker = "amqp://app:secret-password@broker.internal:5672/%2f";
{% else %}        let broker = "nats://app:secret-password@broker.internal:4222";
{% endif %}        jail.set_env("APP__MESSAGING__URL", broker);
{% endif %}        // Webhooks to a receiver go signed, or not at all.
        jail.set_env("APP__WEBHOOK__URL", "https://receiver.example/hooks");
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("webhook.signing_secrets"), "{error}");
        jail.create_file(
            "webhook-secrets",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,whsec_b2xkLXNlY3JldC1zdGlsbC1yb3RhdGluZy1vdXQ=\n",
        )?;
        let path = jail.directory().join("webhook-secrets");
        jail.set_env("APP__WEBHOOK__SIGNING_SECRETS_FILE", path.display());
        let settings = Settings::load(&sources).map_err(|e| e.to_string())?;
        assert_eq!(
            settings.webhook.signing_keys().map(|keys| keys.len()),
            Ok(2)
        );
{% if auth == "jwt" %}        assert_eq!(
            settings.auth.hs256_secret.expose(),
            "another-real-secret-from-the-secret-store"
        );
{% endif %}        let printed = settings.redacted().to_string();
{% if auth == "jwt" %}        assert!(!printed.contains("another-real-secret"), "{printed}");
{% endif %}        assert!(!printed.contains("a-real-secret"), "{printed}");
        assert!(!printed.contains("cHJvZHVjdGlvbi1rZXk"), "{printed}");
        assert!(!printed.contains("MfKQ9r8GKYqrTwjU"), "{printed}");
{% if messaging != "none" %}        assert!(!printed.contains("secret-password"), "{printed}");
{% endif %}        Ok(())
    });
}
{% if graphql %}
#[test]
fn production_turns_graphql_introspection_off() {
    let production = Figment::from(Toml::string(include_str!(
        "../../../../config/production.toml"
    )));
    let introspection: bool = production.extract_inner("graphql.introspection").unwrap();
    assert!(
        !introspection,
        "the committed schema is the contract; no live map of it"
    );
}
{% endif %}
#[test]
fn an_unreadable_secret_file_is_an_error_not_a_fallback() {
    figment::Jail::expect_with(|jail| {
        let sources = Sources {
            environment: "none".to_owned(),
            directory: jail.directory().to_owned(),
        };
        jail.set_env("APP__HTTP__CURSOR_SECRET_FILE", "/nonexistent/secret");
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("APP__HTTP__CURSOR_SECRET_FILE"), "{error}");
        Ok(())
    });
}

{% if auth == "jwt" %}#[test]
fn jwks_mode_refuses_hmac_algorithms() {
    figment::Jail::expect_with(|jail| {
        let sources = Sources {
            environment: "none".to_owned(),
            directory: jail.directory().to_owned(),
        };
        jail.set_env("APP__AUTH__MODE", "jwks");
        jail.set_env("APP__AUTH__JWKS_URL", "https://id.example.com/jwks.json");
        jail.set_env("APP__AUTH__ALGORITHMS", "[RS256,HS256]");
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("auth.algorithms"), "{error}");
        jail.set_env("APP__AUTH__ALGORITHMS", "[RS256,ES256]");
        assert!(Settings::load(&sources).is_ok());
        Ok(())
    });
}

{% endif %}#[test]
fn inconsistent_pool_sizes_are_refused() {
    figment::Jail::expect_with(|jail| {
        let sources = Sources {
            environment: "none".to_owned(),
            directory: jail.directory().to_owned(),
        };
        jail.set_env("APP__DATABASE__MIN_CONNECTIONS", "50");
        jail.set_env("APP__DATABASE__MAX_CONNECTIONS", "5");
        let error = Settings::load(&sources).unwrap_err().to_string();
        assert!(error.contains("database.min_connections"), "{error}");
        Ok(())
    });
}
