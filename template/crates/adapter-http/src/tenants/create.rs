//! `POST /api/v1/tenants`: create a tenant.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use super::body::{CreateTenantBody, TenantResponse};
use crate::auth::Authenticated;
use crate::extract::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Creates a tenant. Answers 201 with the tenant and its URL in `Location`.
#[utoipa::path(
    post,
    path = "/tenants",
    tag = "tenants",
    request_body = CreateTenantBody,
    responses(
        (status = 201, description = "Created", body = TenantResponse,
            headers(("location" = String, description = "URL of the new tenant"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name already taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_tenant(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    body: JsonBody<CreateTenantBody>,
) -> Result<(StatusCode, HeaderMap, Json<TenantResponse>), ApiError> {
    // Who may, then the body: see `JsonBody`.
    state.tenants.authorize_create(&principal)?;
    let new_tenant = body.parse()?.into_domain()?;
    let tenant = state.tenants.create(&principal, new_tenant).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/tenants/{}", tenant.id)) {
        headers.insert(header::LOCATION, location);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(TenantResponse::from(tenant)),
    ))
}
