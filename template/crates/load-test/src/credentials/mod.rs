//! Who the load test acts as, in a service that checks bearer tokens.
//!
//! Locally and in CI, every principal gets a token minted as the `token` subcommand mints it
//! (`adapter_http::auth::DevelopmentToken`), from the service's own configuration read the
//! same way (`APP_ENV`, `APP_CONFIG_DIR`, `APP__AUTH__...`), so the tokens are the ones the
//! service under test accepts. Against an environment whose tokens come from an identity
//! provider, `LOAD_TEST_TOKENS` names a JSON file `{"<tenant id>": "<token>", ...}`: those tenants
//! are used as they are, each with its token. This module must not know what traffic is sent.

use std::collections::BTreeMap;
use std::time::Duration;

use adapter_http::auth::{AuthSettings, DevelopmentToken};
use anyhow::Context;
use domain::auth::Role;
use service::config::{Settings, Sources};
use uuid::Uuid;

/// How long a minted token lives: longer than any run.
const TOKEN_LIFETIME: Duration = Duration::from_secs(4 * 3600);

/// Where tokens come from.
pub enum Credentials {
    /// Minted with the service's configuration.
    Minted(AuthSettings),
    /// Issued elsewhere, one per tenant.
    Issued(BTreeMap<Uuid, String>),
}

impl Credentials {
    /// `LOAD_TEST_TOKENS` when it is set, the service's configuration otherwise.
    ///
    /// # Errors
    /// When the file or the configuration cannot be read.
    pub fn from_environment() -> anyhow::Result<Self> {
        if let Some(path) = std::env::var_os("LOAD_TEST_TOKENS") {
            let shown = path.to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("LOAD_TEST_TOKENS: cannot read {shown}"))?;
            let issued: BTreeMap<Uuid, String> =
                serde_json::from_str(&text).with_context(|| {
                    format!(
                        "LOAD_TEST_TOKENS: {shown} is not a JSON object of tenant ids to tokens"
                    )
                })?;
            anyhow::ensure!(
                !issued.is_empty(),
                "LOAD_TEST_TOKENS: {shown} lists no tenant"
            );
            return Ok(Self::Issued(issued));
        }
        let settings = Settings::load(&Sources::from_env())?;
        Ok(Self::Minted(settings.auth))
    }

    /// The tenants to use as they are, when the tokens were issued for them.
    pub fn given_tenants(&self) -> Option<Vec<Uuid>> {
        match self {
            Self::Minted(_) => None,
            Self::Issued(issued) => Some(issued.keys().copied().collect()),
        }
    }

    /// The `Authorization` value of `subject` acting in `tenant` with `role`: minted, or the
    /// token issued for `tenant` (whatever roles its issuer gave it).
    ///
    /// # Errors
    /// When the token cannot be minted, or no token was issued for `tenant`.
    pub fn authorization(
        &self,
        tenant: Uuid,
        subject: &str,
        role: Role,
    ) -> Result<Option<String>, String> {
        match self {
            Self::Minted(_) => self.mint(tenant, subject, vec![role]),
            Self::Issued(issued) => issued
                .get(&tenant)
                .map(|token| Some(format!("Bearer {token}")))
                .ok_or_else(|| format!("LOAD_TEST_TOKENS has no token for tenant {tenant}")),
        }
    }

    fn mint(
        &self,
        tenant: Uuid,
        subject: &str,
        roles: Vec<Role>,
    ) -> Result<Option<String>, String> {
        let Self::Minted(settings) = self else {
            return Err("tokens were issued elsewhere: none can be minted".to_owned());
        };
        let token = DevelopmentToken {
            subject: subject.to_owned(),
            tenant,
            roles,
            lifetime: TOKEN_LIFETIME,
        }
        .mint(settings)
        .map_err(|error| format!("cannot mint a token: {error}; set LOAD_TEST_TOKENS"))?;
        Ok(Some(format!("Bearer {token}")))
    }
}
