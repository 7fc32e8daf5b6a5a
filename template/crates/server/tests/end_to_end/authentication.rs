//! Every way a bearer token can be refused, against the running service over a real socket:
//! each kind of bad token (HS256 and JWKS modes, with a local identity provider whose keys
//! rotate), roles and tenants, per-principal rate limits, and the operator role on
//! operational endpoints. `security.rs` has the refusals that do not depend on tokens.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{PLATFORM_TENANT, TestApp, test_settings};
use adapter_http::auth::{Access, AuthMode};
use adapter_postgres::PostgresPools;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::auth::{Principal, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use service::config::Settings;
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use uuid::Uuid;

pub(crate) const TENANT: &str = "0190f5d2-7e1c-7000-8000-00000000aaaa";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims of a good token for `settings`; tests break one at a time.
fn claims(settings: &Settings) -> Value {
    json!({
        "sub": "alice",
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": now(),
        "nbf": now() - 1,
        "exp": now() + 300,
        "tenant_id": TENANT,
        "roles": ["admin"],
    })
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// `GET /api/v1/me` with `authorization` as the whole header value (or no header): the cheapest
/// authenticated call, to see what the access guard makes of a token.
async fn call_me(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.anonymous.get(app.url("/api/v1/me"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

/// Calls `GET /api/v1/me` with `authorization` (or none) and checks the refusal: 401,
/// problem+json, an RFC 6750 challenge, and a detail naming the check that failed. Returns the
/// detail.
async fn assert_refused(app: &TestApp, authorization: Option<&str>, because: &str) -> String {
    let response = call_me(app, authorization).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer realm=\"api\""), "{challenge}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/unauthorized", "{body}");
    assert_eq!(body["status"], 401);
    assert!(body["requestId"].is_string(), "{body}");
    let detail = body["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains(because),
        "{detail:?} should say {because:?}"
    );
    if authorization.is_some() {
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    detail
}

async fn hs256_app(pool: PgPool) -> (TestApp, Settings) {
    let settings = test_settings();
    let app = TestApp::spawn_with(settings.clone(), PostgresPools::single(pool)).await;
    (app, settings)
}

/// Starts the service, signs good claims after `change` broke one of them, and checks the
/// refusal says `because`.
async fn refused_after(pool: PgPool, change: impl FnOnce(&mut Value, &Settings), because: &str) {
    let (app, settings) = hs256_app(pool).await;
    let mut claims = claims(&settings);
    change(&mut claims, &settings);
    let token = hs256(settings.auth.hs256_secret.expose(), &claims);
    assert_refused(&app, Some(&format!("Bearer {token}")), because).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_good_token_reaches_the_api_and_says_who_it_is(pool: PgPool) {
    let (app, settings) = hs256_app(pool).await;
    let token = hs256(settings.auth.hs256_secret.expose(), &claims(&settings));
    let response = call_me(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["tenantId"], TENANT);
    assert_eq!(me["roles"], json!(["admin"]));
    // What the role grants is the domain's table, in the principal's order (the exact list of
    // the example's permissions is pinned in `items_authentication.rs`).
    let granted: Vec<String> = Principal::new("alice", Uuid::nil(), [Role::Admin])
        .permissions()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(me["permissions"], json!(granted), "{me}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_missing_token_is_401_with_a_bare_challenge(pool: PgPool) {
    let (app, _) = hs256_app(pool).await;
    assert_refused(&app, None, "no bearer token").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_malformed_token_is_401(pool: PgPool) {
    let (app, _) = hs256_app(pool).await;
    assert_refused(&app, Some("Bearer not-a-jwt"), "malformed").await;
    assert_refused(&app, Some("Basic YWxpY2U6c2VjcmV0"), "malformed").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_unsigned_alg_none_token_is_401(pool: PgPool) {
    let (app, settings) = hs256_app(pool).await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&settings).to_string());
    let token = format!("Bearer {header}.{payload}.");
    assert_refused(&app, Some(&token), "algorithm").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_expired_token_is_401(pool: PgPool) {
    // Past the configured leeway, which forgives small clock differences only.
    let change = |claims: &mut Value, settings: &Settings| {
        claims["exp"] = json!(now() - settings.auth.leeway_secs - 60);
        claims["iat"] = json!(now() - 3600);
        claims["nbf"] = json!(now() - 3600);
    };
    refused_after(pool, change, "expired").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_token_not_valid_yet_is_401(pool: PgPool) {
    let change = |claims: &mut Value, settings: &Settings| {
        claims["nbf"] = json!(now() + settings.auth.leeway_secs + 60);
    };
    refused_after(pool, change, "not valid yet").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_token_issued_in_the_future_is_401(pool: PgPool) {
    let change = |claims: &mut Value, settings: &Settings| {
        claims["iat"] = json!(now() + settings.auth.leeway_secs + 60);
    };
    refused_after(pool, change, "issued in the future").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_token_from_another_issuer_is_401(pool: PgPool) {
    let change = |claims: &mut Value, _: &Settings| {
        claims["iss"] = json!("https://someone-else.example.com");
    };
    refused_after(pool, change, "another issuer").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_token_for_another_audience_is_401(pool: PgPool) {
    let change = |claims: &mut Value, _: &Settings| claims["aud"] = json!("another-service");
    refused_after(pool, change, "another audience").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_tampered_token_is_401(pool: PgPool) {
    let (app, settings) = hs256_app(pool).await;
    let token = hs256(settings.auth.hs256_secret.expose(), &claims(&settings));
    // Same signature, promoted claims: the signature no longer matches.
    let (header, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let mut promoted = claims(&settings);
    promoted["roles"] = json!(["admin", "platform-admin"]);
    let payload = URL_SAFE_NO_PAD.encode(promoted.to_string());
    let tampered = format!("Bearer {header}.{payload}.{signature}");
    assert_refused(&app, Some(&tampered), "signature").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_token_signed_with_another_secret_is_401(pool: PgPool) {
    let (app, settings) = hs256_app(pool).await;
    let token = hs256(
        "a-different-secret-of-the-same-length-000000",
        &claims(&settings),
    );
    assert_refused(&app, Some(&format!("Bearer {token}")), "signature").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_token_without_a_tenant_is_401(pool: PgPool) {
    let change = |claims: &mut Value, _: &Settings| claims["tenant_id"] = json!("not-a-uuid");
    refused_after(pool, change, "tenant_id").await;
}

/// An ES256 key of a test identity provider, made at run time: no private key is committed.
struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl SigningKey {
    fn generate(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        Self {
            kid: kid.to_owned(),
            pkcs8: pkcs8.as_ref().to_vec(),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    /// The public half as a JWK (the uncompressed point is 0x04 || x || y).
    fn jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&self.public[33..65]),
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

/// A local OIDC-style key endpoint: serves whatever keys are published, counts fetches.
struct IdentityProvider {
    url: String,
    published: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    /// How long the endpoint takes to answer, in milliseconds.
    delay_ms: Arc<AtomicU64>,
}

impl IdentityProvider {
    async fn start() -> Self {
        let published = Arc::new(Mutex::new(Vec::new()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let (keys, count, delay) = (
            Arc::clone(&published),
            Arc::clone(&fetches),
            Arc::clone(&delay_ms),
        );
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                count.fetch_add(1, Ordering::SeqCst);
                let keys = keys.lock().unwrap().clone();
                let delay = Duration::from_millis(delay.load(Ordering::SeqCst));
                async move {
                    tokio::time::sleep(delay).await;
                    axum::Json(json!({ "keys": keys }))
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            published,
            fetches,
            delay_ms,
        }
    }

    fn answer_after(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap();
        self.delay_ms.store(millis, Ordering::SeqCst);
    }

    fn publish(&self, keys: &[&SigningKey]) {
        *self.published.lock().unwrap() = keys.iter().map(|key| key.jwk()).collect();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn jwks_settings(provider: &IdentityProvider, min_refetch_interval_ms: u64) -> Settings {
    let mut settings = test_settings();
    settings.auth.mode = AuthMode::Jwks;
    settings.auth.jwks_url = provider.url.clone();
    settings.auth.algorithms = vec![Algorithm::ES256, Algorithm::RS256];
    settings.auth.jwks_min_refetch_interval_ms = min_refetch_interval_ms;
    settings
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    call_me(app, Some(&format!("Bearer {token}")))
        .await
        .status()
}

#[sqlx::test(migrations = "../../migrations")]
async fn jwks_keys_are_cached_and_a_rotated_key_is_fetched_when_first_seen(pool: PgPool) {
    let provider = IdentityProvider::start().await;
    let (first, second) = (SigningKey::generate("k1"), SigningKey::generate("k2"));
    provider.publish(&[&first]);
    let settings = jwks_settings(&provider, 0);
    let app = TestApp::spawn_with(settings.clone(), PostgresPools::single(pool)).await;

    let token = first.sign(&claims(&settings));
    assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    assert_eq!(provider.fetches(), 1, "the key set is cached");

    // The provider rotates: k2 signs new tokens. Its first token makes us fetch again.
    provider.publish(&[&second, &first]);
    let rotated = second.sign(&claims(&settings));
    assert_eq!(me_status(&app, &rotated).await, StatusCode::OK);
    assert_eq!(provider.fetches(), 2);
    assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    assert_eq!(provider.fetches(), 2, "both keys are cached now");

    // A key the provider never published.
    let stranger = SigningKey::generate("k9").sign(&claims(&settings));
    assert_refused(&app, Some(&format!("Bearer {stranger}")), "unknown key").await;
    // A published kid with someone else's signature.
    let forged = SigningKey::generate("k1").sign(&claims(&settings));
    assert_refused(&app, Some(&format!("Bearer {forged}")), "signature").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn unknown_kids_cannot_make_us_hammer_the_identity_provider(pool: PgPool) {
    let provider = IdentityProvider::start().await;
    let known = SigningKey::generate("k1");
    provider.publish(&[&known]);
    let settings = jwks_settings(&provider, 1_000);
    let app = TestApp::spawn_with(settings.clone(), PostgresPools::single(pool)).await;
    assert_eq!(
        me_status(&app, &known.sign(&claims(&settings))).await,
        StatusCode::OK
    );
    // Past the minimum interval, the first invented kid may refetch; the next ones, sent
    // within the interval, may not.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    for attempt in 0..5 {
        let invented = SigningKey::generate(&format!("invented-{attempt}"));
        let token = invented.sign(&claims(&settings));
        assert_refused(&app, Some(&format!("Bearer {token}")), "unknown key").await;
    }
    assert_eq!(
        provider.fetches(),
        2,
        "one refetch for the first unknown kid, then none within the interval"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_key_fetch_is_finished_even_when_the_request_that_started_it_gives_up(pool: PgPool) {
    let provider = IdentityProvider::start().await;
    let key = SigningKey::generate("k1");
    provider.publish(&[&key]);
    provider.answer_after(Duration::from_millis(500));
    // One fetch a minute at most: an abandoned fetch would lock every token out for that long.
    let settings = jwks_settings(&provider, 60_000);
    let app = TestApp::spawn_with(settings.clone(), PostgresPools::single(pool)).await;
    let token = key.sign(&claims(&settings));

    let address = app.base_url.trim_start_matches("http://").to_owned();
    let mut first = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "GET /api/v1/me HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\r\n"
    );
    first.write_all(head.as_bytes()).await.unwrap();
    while provider.fetches() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    crate::support::cut(first);

    assert_eq!(
        me_status(&app, &token).await,
        StatusCode::OK,
        "the next request is served with the keys the abandoned request's fetch brought"
    );
    assert_eq!(provider.fetches(), 1, "and no second fetch was needed");
}

#[sqlx::test(migrations = "../../migrations")]
async fn algorithm_confusion_hs256_signed_with_the_public_key_is_401(pool: PgPool) {
    let provider = IdentityProvider::start().await;
    let key = SigningKey::generate("k1");
    provider.publish(&[&key]);
    let settings = jwks_settings(&provider, 0);
    let app = TestApp::spawn_with(settings.clone(), PostgresPools::single(pool)).await;
    // The classic attack: the public key is public, so use it as an HMAC secret.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &claims(&settings),
        &EncodingKey::from_secret(&key.public),
    )
    .unwrap();
    assert_refused(&app, Some(&format!("Bearer {token}")), "algorithm").await;
    // And an HS256 token with the shared development secret is refused too in this mode.
    let token = hs256(settings.auth.hs256_secret.expose(), &claims(&settings));
    assert_refused(&app, Some(&format!("Bearer {token}")), "algorithm").await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_unreachable_identity_provider_is_503_not_401(pool: PgPool) {
    let provider = IdentityProvider::start().await;
    let mut settings = jwks_settings(&provider, 0);
    settings.auth.jwks_url = "http://127.0.0.1:9/.well-known/jwks.json".to_owned();
    let app = TestApp::spawn_with(settings.clone(), PostgresPools::single(pool)).await;
    let token = SigningKey::generate("k1").sign(&claims(&settings));
    let response = call_me(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/keys-unavailable", "{body}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn past_the_burst_a_principal_gets_429_with_retry_after_and_ratelimit_headers(pool: PgPool) {
    let mut settings = test_settings();
    settings.rate_limit.per_principal_per_second = 1;
    settings.rate_limit.per_principal_burst = 3;
    let app = TestApp::spawn_with(settings.clone(), PostgresPools::single(pool)).await;
    let alice = app.bearer(TENANT, &[Role::Viewer]);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = call_me(&app, Some(&alice)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        remaining.push(
            response.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let refused = call_me(&app, Some(&alice)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], 429, "{body}");
    // Another principal has a budget of its own.
    let bob = app.bearer(PLATFORM_TENANT, &[Role::Viewer]);
    let other = call_me(&app, Some(&bob)).await;
    assert_eq!(other.status(), StatusCode::OK);
    // Health probes are never limited.
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
}

#[sqlx::test(migrations = "../../migrations")]
async fn authenticated_operational_endpoints_need_the_operator_role(pool: PgPool) {
    let mut settings = test_settings();
    settings.auth.metrics = Access::Authenticated;
    let app = TestApp::spawn_with(settings, PostgresPools::single(pool)).await;
    let anonymous = app.anonymous.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let admin = app
        .anonymous
        .get(app.url("/metrics"))
        .header("authorization", app.bearer(TENANT, &[Role::Admin]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        admin.status(),
        StatusCode::FORBIDDEN,
        "admin is not operator"
    );
    let operator = app
        .anonymous
        .get(app.url("/metrics"))
        .header("authorization", app.bearer(TENANT, &[Role::Operator]))
        .send()
        .await
        .unwrap();
    assert_eq!(operator.status(), StatusCode::OK);
}
