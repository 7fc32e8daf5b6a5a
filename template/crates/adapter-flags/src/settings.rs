//! The `[flags]` section: which flags exist, who owns them, until when, and who gets them.
//!
//! Flags come from two places. Configuration (`config/*.toml` and `APP__FLAGS__RULES__<KEY>__...`
//! variables) holds each flag's starting rule and is read once at start. An optional flags file
//! (`flags.path`, a Kubernetes ConfigMap in production) holds the rules an operator changes while
//! the service runs: it is re-read every `reload_interval_ms`, and its rules replace those of the
//! same key from configuration. Everything is checked before it is used: a bad section stops the
//! start like any bad setting; a bad file is refused with an error, and the service keeps the
//! last good rules (at start, configuration's), so a typo in a ConfigMap never stops new pods.
//!
//! This module must not evaluate flags (`rules.rs` does) or touch OpenFeature.

use std::collections::BTreeMap;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;
use uuid::Uuid;

/// The longest flag key accepted.
const MAX_KEY_CHARS: usize = 64;

/// The `[flags]` section.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlagSettings {
    /// A TOML file with one table per flag (the same fields as under `rules`), re-read while the
    /// service runs; its flags replace those of the same key in `rules`. Empty: no file. (Not
    /// named `file`: `APP__FLAGS__FILE` would be read as a secret file, `config.rs`.)
    pub path: String,
    /// How often the file is re-read, in milliseconds (at least 100).
    pub reload_interval_ms: u64,
    /// The flags from configuration, by key.
    #[serde(default)]
    pub rules: FlagRules,
}

/// Flags by key.
pub type FlagRules = BTreeMap<String, FlagRule>;

/// One flag: what it is for, who owns it, and who gets it. In the order [`crate::rules`]
/// decides: `kill` turns it off for everyone; otherwise a tenant in `tenants` gets it; otherwise,
/// when `enabled`, the `rollout_percent` share of tenants (or principals, per `rollout_by`) does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlagRule {
    /// What turning it on changes, for whoever reads the configuration.
    #[serde(default)]
    pub description: String,
    /// Who decides about it and removes it (a team or a person): a flag nobody owns stays forever.
    pub owner: String,
    /// When it should be gone (`YYYY-MM-DD`): past it, each load logs a warning naming the owner.
    pub expires: String,
    /// On for the rollout share; off leaves it to `tenants` alone.
    #[serde(default)]
    pub enabled: bool,
    /// The share of tenants (or principals) that get it when `enabled`, 0 to 100. The same one
    /// always gets the same answer; raising the share only adds to who has it.
    #[serde(default = "everyone")]
    pub rollout_percent: u8,
    /// Whether the share is counted in tenants (everyone in a tenant sees the same) or in
    /// principals.
    #[serde(default)]
    pub rollout_by: RolloutBy,
    /// Tenants that get it whatever `enabled` and the share say (early adopters, your own).
    #[serde(default)]
    pub tenants: Vec<Uuid>,
    /// The kill switch: off for everyone, tenants listed or not, until it is cleared.
    #[serde(default)]
    pub kill: bool,
}

fn everyone() -> u8 {
    100
}

/// What a percentage rollout counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RolloutBy {
    /// Tenants: everyone in a tenant gets the same answer.
    #[default]
    Tenant,
    /// Principals (token subjects), whatever their tenant.
    Principal,
}

impl FlagSettings {
    /// Checks the section. The flags file is checked each time it is read (`provider.rs`): it
    /// changes while the service runs, and a bad one must not stop a start.
    ///
    /// # Errors
    /// A message naming the setting or flag and what is wrong with it.
    pub fn validate(&self) -> Result<(), String> {
        if self.reload_interval_ms < 100 {
            return Err("flags.reload_interval_ms must be at least 100".to_owned());
        }
        check_rules(&self.rules).map_err(|error| format!("flags.rules.{error}"))
    }

    /// The rules configuration and the file (when one is named) give now, the file's over
    /// configuration's.
    ///
    /// # Errors
    /// When the file cannot be read or holds an invalid flag.
    pub fn current_rules(&self) -> Result<FlagRules, String> {
        let mut rules = self.rules.clone();
        if !self.path.is_empty() {
            rules.extend(read_file(Path::new(&self.path))?);
        }
        Ok(rules)
    }
}

/// Reads and checks a flags file: every flag valid, or an error naming the first that is not.
///
/// # Errors
/// When the file cannot be read, is not TOML of flags, or holds an invalid flag.
pub fn read_file(path: &Path) -> Result<FlagRules, String> {
    let shown = path.display();
    // Read here rather than through `Toml::file`, which takes a missing file for an empty one.
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("flags.path {shown}: cannot read it: {error}"))?;
    let rules: FlagRules = Figment::from(Toml::string(&text))
        .extract()
        .map_err(|error| format!("flags.path {shown}: {error}"))?;
    check_rules(&rules).map_err(|error| format!("flags.path {shown}: {error}"))?;
    Ok(rules)
}

/// Checks every rule; the error starts with the flag's key.
fn check_rules(rules: &FlagRules) -> Result<(), String> {
    for (key, rule) in rules {
        check_key(key).map_err(|error| format!("{key}: {error}"))?;
        check_rule(rule).map_err(|error| format!("{key}: {error}"))?;
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), String> {
    let well_formed = key.len() <= MAX_KEY_CHARS
        && key.starts_with(|first: char| first.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "the key must be lowercase letters, digits and `_`, start with a letter and have at \
             most {MAX_KEY_CHARS} characters (so an APP__FLAGS__RULES__<KEY> variable can name it)"
        ))
    }
}

fn check_rule(rule: &FlagRule) -> Result<(), String> {
    if rule.owner.trim().is_empty() {
        return Err("owner must name who removes the flag".to_owned());
    }
    expiry(rule)?;
    if rule.rollout_percent > 100 {
        return Err(format!(
            "rollout_percent must be 0 to 100, not {}",
            rule.rollout_percent
        ));
    }
    Ok(())
}

/// The rule's expiry date.
///
/// # Errors
/// When `expires` is not a `YYYY-MM-DD` date.
pub fn expiry(rule: &FlagRule) -> Result<Date, String> {
    Date::parse(&rule.expires, format_description!("[year]-[month]-[day]")).map_err(|_| {
        format!(
            "expires must be a date as YYYY-MM-DD, not {:?}",
            rule.expires
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> FlagRule {
        FlagRule {
            description: String::new(),
            owner: "items team".to_owned(),
            expires: "2030-01-31".to_owned(),
            enabled: true,
            rollout_percent: 100,
            rollout_by: RolloutBy::Tenant,
            tenants: Vec::new(),
            kill: false,
        }
    }

    fn settings(rules: FlagRules) -> FlagSettings {
        FlagSettings {
            path: String::new(),
            reload_interval_ms: 1000,
            rules,
        }
    }

    #[test]
    fn a_well_formed_section_passes() {
        let rules = FlagRules::from([("new_checkout".to_owned(), rule())]);
        assert_eq!(settings(rules).validate(), Ok(()));
    }

    #[test]
    fn each_invalid_field_is_refused_naming_the_flag() {
        type Spoil = fn(&mut FlagRule);
        let cases: [(&str, Spoil, &str); 4] = [
            ("no owner", |rule| rule.owner = " ".to_owned(), "owner"),
            (
                "no date",
                |rule| rule.expires = "soon".to_owned(),
                "expires",
            ),
            (
                "bad date",
                |rule| rule.expires = "2030-02-30".to_owned(),
                "expires",
            ),
            (
                "share",
                |rule| rule.rollout_percent = 101,
                "rollout_percent",
            ),
        ];
        for (case, spoil, field) in cases {
            let mut spoiled = rule();
            spoil(&mut spoiled);
            let error = settings(FlagRules::from([("f".to_owned(), spoiled)]))
                .validate()
                .expect_err(case);
            assert!(error.starts_with("flags.rules.f: "), "{case}: {error}");
            assert!(error.contains(field), "{case}: {error}");
        }
    }

    #[test]
    fn keys_an_environment_variable_cannot_name_are_refused() {
        for key in ["New-Checkout", "1st", "with space", "", &"k".repeat(65)] {
            let rules = FlagRules::from([(key.to_owned(), rule())]);
            assert!(settings(rules).validate().is_err(), "{key:?}");
        }
    }

    #[test]
    fn a_reload_interval_under_100_ms_is_refused() {
        let mut settings = settings(FlagRules::new());
        settings.reload_interval_ms = 10;
        assert!(
            settings
                .validate()
                .unwrap_err()
                .contains("reload_interval_ms")
        );
    }

    #[test]
    fn a_missing_or_invalid_file_is_refused_naming_it() {
        let folder = std::env::temp_dir().join(format!("flags-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let mut named = settings(FlagRules::new());
        named.path = folder.join("absent.toml").display().to_string();
        assert_eq!(named.validate(), Ok(()), "the section itself is valid");
        assert!(named.current_rules().unwrap_err().contains("cannot read"));

        let file = folder.join("flags.toml");
        std::fs::write(
            &file,
            "[f]\nowner = \"o\"\nexpires = \"2030-01-01\"\ncolour = 1\n",
        )
        .unwrap();
        named.path = file.display().to_string();
        let error = named.current_rules().unwrap_err();
        assert!(error.contains("colour"), "unknown field named: {error}");
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn the_file_replaces_configuration_flag_by_flag() {
        let folder = std::env::temp_dir().join(format!("flags-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join("flags.toml");
        std::fs::write(
            &file,
            "[a]\nowner = \"o\"\nexpires = \"2030-01-01\"\nkill = true\n",
        )
        .unwrap();
        let mut both = settings(FlagRules::from([
            ("a".to_owned(), rule()),
            ("b".to_owned(), rule()),
        ]));
        both.path = file.display().to_string();
        let rules = both.current_rules().unwrap();
        assert!(rules["a"].kill, "the file's rule for `a`");
        assert!(
            !rules["a"].enabled,
            "the file's rule is whole, not merged field by field"
        );
        assert_eq!(rules["b"], rule(), "configuration's rule for `b`");
        std::fs::remove_dir_all(folder).unwrap();
    }
}
