//! `POST /api/v1/tenants/{tenantId}/items`: create an item, at most once per `Idempotency-Key`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use domain::items::{Idempotency, IdempotencyKey};
use sha2::{Digest, Sha256};

use super::body::{CreateItemBody, ItemResponse};
use super::{TenantPath, item_path};
use crate::auth::Authenticated;
use crate::conditional::etag;
use crate::extract::{ApiPath, JsonBody};
use crate::problem::{ApiError, FieldError, Problem};
use crate::state::AppState;

/// Set on a response that repeats the result of an earlier request with the same key.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Creates an item. Answers 201 with the item, its URL in `Location` and its `ETag`. With an
/// `Idempotency-Key`, a retry of the same request answers the same item and creates nothing.
#[utoipa::path(
    post,
    path = "/tenants/{tenantId}/items",
    tag = "items",
    params(
        ("tenantId" = Uuid, Path, description = "The owning tenant"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$",
            description = "1-255 visible ASCII characters; retries with the same key and body create nothing new"),
    ),
    request_body = CreateItemBody,
    responses(
        (status = 201, description = "Created (or, with `Idempotent-Replayed: true`, created earlier by the same request)", body = ItemResponse,
            headers(
                ("location" = String, description = "URL of the new item"),
                ("etag" = String, description = "The item's version"),
                ("idempotent-replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same Idempotency-Key"),
            )),
        (status = 400, description = "Malformed JSON or Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name already taken in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_item(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<TenantPath>,
    headers: HeaderMap,
    body: JsonBody<CreateItemBody>,
) -> Result<(StatusCode, HeaderMap, Json<ItemResponse>), ApiError> {
    let tenant_id = path.tenant_id.into();
    // Who may, then the input: see `JsonBody`.
    state.items.authorize_create(&principal, tenant_id)?;
    let body = body.parse()?;
    let key = headers.get("idempotency-key").map(HeaderValue::as_bytes);
    let idempotency = idempotency(key, &body)?;
    let new_item = body.into_domain(tenant_id)?;
    let created = state
        .items
        .create(&principal, new_item, idempotency)
        .await?;
    let item = created.item;
    let mut response_headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&item_path(item.tenant_id, item.id)) {
        response_headers.insert(header::LOCATION, location);
    }
    response_headers.insert(header::ETAG, etag(item.version));
    if created.replayed {
        response_headers.insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok((
        StatusCode::CREATED,
        response_headers,
        Json(ItemResponse::from(item)),
    ))
}

/// The idempotency key, as the client sent it, and a fingerprint of the body it came with.
pub(crate) fn idempotency(
    key: Option<&[u8]>,
    body: &CreateItemBody,
) -> Result<Option<Idempotency>, ApiError> {
    let Some(raw) = key else {
        return Ok(None);
    };
    let key = std::str::from_utf8(raw)
        .ok()
        .and_then(|text| IdempotencyKey::parse(text).ok())
        .ok_or_else(|| {
            Problem::bad_request("The Idempotency-Key header is invalid.").with_errors(vec![
                FieldError {
                    pointer: "Idempotency-Key".to_owned(),
                    detail: "must be 1 to 255 visible ASCII characters".to_owned(),
                },
            ])
        })?;
    // The parsed body, serialized again: the same request with other whitespace is the same.
    let canonical = serde_json::to_vec(body).unwrap_or_default();
    let fingerprint = Sha256::digest(&canonical)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(Some(Idempotency { key, fingerprint }))
}
