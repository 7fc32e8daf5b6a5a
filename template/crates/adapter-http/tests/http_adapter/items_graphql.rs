//! The example's tenants and items through GraphQL over the in-memory ports: the same rules as
//! REST (roles, tenant isolation, validation, optimistic locking, cursors), and related objects
//! loaded without N+1 reads. The schema and limit checks are in `graphql.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::graphql::{block, graphql};
use crate::support::{TestRouter, bearer, default_state};
use axum::http::{Method, StatusCode};
use domain::auth::Role;
use domain::tenants::{
    CreateTenantError, GetTenantError, InMemoryTenantRepository, NewTenant, Tenant, TenantId,
    TenantRepository, TenantService,
};
use serde_json::{Value, json};

/// The first error's `extensions`, asserting there is one.
fn first_error(answer: &Value) -> &Value {
    let extensions = &answer["errors"][0]["extensions"];
    assert!(extensions.is_object(), "expected an error: {answer}");
    extensions
}

const PLATFORM: &str = "0190f5d2-7e1c-7000-8000-0000000000ff";

const CREATE_TENANT: &str =
    "mutation($name: String!) { createTenant(input: { name: $name }) { id name } }";
const CREATE_ITEM: &str = "mutation($tenant: UUID!, $name: String!, $key: String) {
    createItem(tenantId: $tenant, input: { name: $name }, idempotencyKey: $key) { id version name }
}";

/// Creates a tenant as a platform administrator; returns its id and an admin token for it.
async fn tenant(router: &TestRouter, name: &str) -> (String, String) {
    let platform = bearer(PLATFORM, &[Role::PlatformAdmin]);
    let answer = graphql(router, &platform, CREATE_TENANT, json!({ "name": name })).await;
    let id = answer["data"]["createTenant"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no tenant: {answer}"))
        .to_owned();
    let admin = bearer(&id, &[Role::Admin]);
    (id, admin)
}

async fn item(router: &TestRouter, token: &str, tenant: &str, name: &str) -> Value {
    let answer = graphql(
        router,
        token,
        CREATE_ITEM,
        json!({ "tenant": tenant, "name": name }),
    )
    .await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["createItem"].clone()
}

#[tokio::test]
async fn an_item_is_created_read_changed_and_deleted_like_over_rest() {
    let router = TestRouter::default();
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    let created = graphql(
        &router,
        &admin,
        CREATE_ITEM,
        json!({ "tenant": tenant_id, "name": "Desk lamp", "key": "lamp-1" }),
    )
    .await;
    let id = created["data"]["createItem"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = graphql(
        &router,
        &admin,
        CREATE_ITEM,
        json!({ "tenant": tenant_id, "name": "Desk lamp", "key": "lamp-1" }),
    )
    .await;
    assert_eq!(
        again["data"]["createItem"]["id"], id,
        "the same idempotency key creates nothing new"
    );

    // What GraphQL wrote, REST reads.
    let rest = router
        .send_with(
            Method::GET,
            &format!("/api/v1/tenants/{tenant_id}/items/{id}"),
            None,
            &[("authorization", &admin)],
        )
        .await;
    assert_eq!(rest.status, StatusCode::OK);
    assert_eq!(rest.json()["name"], "Desk lamp");

    let updated = graphql(
        &router,
        &admin,
        "mutation($tenant: UUID!, $id: UUID!) {
            updateItem(tenantId: $tenant, id: $id, expectedVersion: 1,
                       input: { description: \"Warm white\", status: ARCHIVED }) {
                version status description tenant { name }
            }
        }",
        json!({ "tenant": tenant_id, "id": id }),
    )
    .await;
    let item = &updated["data"]["updateItem"];
    assert_eq!(item["version"], 2, "{updated}");
    assert_eq!(item["status"], "ARCHIVED");
    assert_eq!(item["tenant"]["name"], "Acme");

    let deleted = graphql(
        &router,
        &admin,
        "mutation($tenant: UUID!, $id: UUID!) { deleteItem(tenantId: $tenant, id: $id, expectedVersion: 2) }",
        json!({ "tenant": tenant_id, "id": id }),
    )
    .await;
    assert_eq!(deleted["data"]["deleteItem"], id.as_str(), "{deleted}");
    let gone = graphql(
        &router,
        &admin,
        "query($tenant: UUID!, $id: UUID!) { item(tenantId: $tenant, id: $id) { id } }",
        json!({ "tenant": tenant_id, "id": id }),
    )
    .await;
    assert_eq!(first_error(&gone)["status"], 404);
}

#[tokio::test]
async fn errors_carry_the_problem_rest_would_answer() {
    let router = TestRouter::default();
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    let (other_tenant, other_admin) = tenant(&router, "Globex").await;
    let lamp = item(&router, &admin, &tenant_id, "Lamp").await;
    let lamp_id = lamp["id"].as_str().unwrap();

    // Roles: a viewer may read but not write.
    let viewer = bearer(&tenant_id, &[Role::Viewer]);
    let refused = graphql(
        &router,
        &viewer,
        CREATE_ITEM,
        json!({ "tenant": tenant_id, "name": "Chair" }),
    )
    .await;
    let problem = first_error(&refused);
    assert_eq!(problem["status"], 403, "{refused}");
    assert_eq!(problem["type"], "/problems/forbidden");

    // Tenant isolation: another tenant's item does not exist, rather than being forbidden.
    let hidden = graphql(
        &router,
        &other_admin,
        "query($tenant: UUID!, $id: UUID!) { item(tenantId: $tenant, id: $id) { id } }",
        json!({ "tenant": tenant_id, "id": lamp_id }),
    )
    .await;
    assert_eq!(first_error(&hidden)["status"], 404, "{hidden}");
    assert!(
        graphql(
            &router,
            &other_admin,
            "query($tenant: UUID!) { items(tenantId: $tenant) { edges { node { id } } } }",
            json!({ "tenant": tenant_id }),
        )
        .await["data"]
            .is_null()
    );

    // Validation: every invalid field, with a pointer, and nothing written.
    let invalid = graphql(
        &router,
        &admin,
        CREATE_ITEM,
        json!({ "tenant": tenant_id, "name": "   " }),
    )
    .await;
    let problem = first_error(&invalid);
    assert_eq!(problem["status"], 422, "{invalid}");
    assert_eq!(problem["errors"][0]["pointer"], "/name");

    // Optimistic locking: a stale version changes nothing.
    let stale = graphql(
        &router,
        &admin,
        "mutation($tenant: UUID!, $id: UUID!) {
            updateItem(tenantId: $tenant, id: $id, expectedVersion: 7, input: { name: \"Lamp 2\" }) { id }
        }",
        json!({ "tenant": tenant_id, "id": lamp_id }),
    )
    .await;
    assert_eq!(first_error(&stale)["status"], 412, "{stale}");
    let unchanged = graphql(
        &router,
        &admin,
        "query($tenant: UUID!, $id: UUID!) { item(tenantId: $tenant, id: $id) { name version } }",
        json!({ "tenant": tenant_id, "id": lamp_id }),
    )
    .await;
    assert_eq!(unchanged["data"]["item"]["name"], "Lamp");
    assert_eq!(unchanged["data"]["item"]["version"], 1);
    assert_ne!(other_tenant, tenant_id);
}

#[tokio::test]
async fn a_connection_is_walked_with_cursors_that_only_continue_their_own_query() {
    let router = TestRouter::default();
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    for name in ["a", "b", "c", "d", "e"] {
        item(&router, &admin, &tenant_id, name).await;
    }
    let page = "query($tenant: UUID!, $after: String, $order: ItemOrder) {
        items(tenantId: $tenant, first: 2, after: $after, order: $order) {
            edges { cursor node { name } }
            pageInfo { hasNextPage endCursor }
        }
    }";
    let mut names = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let answer = graphql(
            &router,
            &admin,
            page,
            json!({ "tenant": tenant_id, "after": after, "order": "NAME_DESCENDING" }),
        )
        .await;
        let items = &answer["data"]["items"];
        for edge in items["edges"].as_array().unwrap() {
            names.push(edge["node"]["name"].as_str().unwrap().to_owned());
        }
        pages += 1;
        if items["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = items["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, ["e", "d", "c", "b", "a"]);
    assert_eq!(pages, 3);

    // A cursor made for one order does not continue another.
    let first = graphql(
        &router,
        &admin,
        page,
        json!({ "tenant": tenant_id, "order": "NAME_ASCENDING" }),
    )
    .await;
    let cursor = first["data"]["items"]["pageInfo"]["endCursor"].clone();
    let mixed = graphql(
        &router,
        &admin,
        page,
        json!({ "tenant": tenant_id, "after": cursor, "order": "CREATED_ASCENDING" }),
    )
    .await;
    let problem = first_error(&mixed);
    assert_eq!(problem["status"], 400, "{mixed}");
    assert_eq!(problem["errors"][0]["pointer"], "after");
}

/// The in-memory tenants, counting every read.
struct CountingTenants {
    inner: InMemoryTenantRepository,
    reads: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl TenantRepository for CountingTenants {
    async fn create(&self, tenant: &NewTenant) -> Result<Tenant, CreateTenantError> {
        self.inner.create(tenant).await
    }

    async fn get(&self, id: TenantId) -> Result<Tenant, GetTenantError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(id).await
    }
}

#[tokio::test]
async fn ten_items_naming_their_tenant_cost_one_tenant_read() {
    let reads = Arc::new(AtomicUsize::new(0));
    let mut counted = default_state();
    counted.tenants = TenantService::new(
        Arc::new(CountingTenants {
            inner: InMemoryTenantRepository::default(),
            reads: Arc::clone(&reads),
        }),
        Arc::new(crate::support::OnTokio),
    );
    let router = TestRouter::from_state(counted);
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    for number in 0..10 {
        item(&router, &admin, &tenant_id, &format!("item {number}")).await;
    }

    reads.store(0, Ordering::SeqCst);
    let answer = graphql(
        &router,
        &admin,
        "query($tenant: UUID!) { items(tenantId: $tenant, first: 10) { edges { node { name tenant { name } } } } }",
        json!({ "tenant": tenant_id }),
    )
    .await;
    let edges = answer["data"]["items"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 10, "{answer}");
    assert!(
        edges
            .iter()
            .all(|edge| edge["node"]["tenant"]["name"] == "Acme")
    );
    assert_eq!(
        reads.load(Ordering::SeqCst),
        1,
        "one read for the tenant of all ten items, not one per item"
    );
}

#[tokio::test]
async fn a_page_of_100_with_its_tenants_is_within_the_default_limits_and_nesting_is_not() {
    let router = TestRouter::default();
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    let wide = graphql(
        &router,
        &admin,
        "query($tenant: UUID!) { items(tenantId: $tenant, first: 100) { edges { node { name tenant { name } } } } }",
        json!({ "tenant": tenant_id }),
    )
    .await;
    assert!(wide["errors"].is_null(), "{wide}");
    let costly = graphql(
        &router,
        &admin,
        "query($tenant: UUID!) { items(tenantId: $tenant, first: 100) { edges { cursor node { id name description status version createdAt updatedAt tenant { id name createdAt } } } } }",
        json!({ "tenant": tenant_id }),
    )
    .await;
    assert!(
        costly["errors"][0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("too complex")),
        "{costly}"
    );
}

/// The in-memory items, counting every repository call.
struct CountingItems {
    inner: domain::items::InMemoryItemRepository,
    calls: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl domain::items::ItemRepository for CountingItems {
    async fn create(
        &self,
        item: &domain::items::NewItem,
        idempotency: Option<&domain::items::Idempotency>,
    ) -> Result<domain::items::CreatedItem, domain::items::CreateItemError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.create(item, idempotency).await
    }

    async fn get(
        &self,
        tenant_id: TenantId,
        id: domain::items::ItemId,
    ) -> Result<domain::items::Item, domain::items::GetItemError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.get(tenant_id, id).await
    }

    async fn list(
        &self,
        query: &domain::items::ListItems,
    ) -> Result<domain::items::ItemPage, domain::items::ListItemsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.list(query).await
    }

    async fn update(
        &self,
        update: &domain::items::UpdateItem,
    ) -> Result<domain::items::Item, domain::items::UpdateItemError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.update(update).await
    }

    async fn delete(
        &self,
        tenant_id: TenantId,
        id: domain::items::ItemId,
        expected_version: Option<i64>,
    ) -> Result<i64, domain::items::DeleteItemError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(tenant_id, id, expected_version).await
    }
}

/// A router whose repositories count their calls (items and tenants together), with room for
/// large documents; and the counter.
fn counted_router(
    limits: adapter_http::rate_limit::RateLimitSettings,
) -> (TestRouter, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut state = crate::support::state(
        crate::support::healthy_probes(),
        crate::support::auth_settings(),
        limits,
    );
    state.settings = Arc::new(adapter_http::HttpSettings {
        body_limit_bytes: 65_536,
        ..crate::support::settings()
    });
    state.items = domain::items::ItemService::new(
        Arc::new(CountingItems {
            inner: domain::items::InMemoryItemRepository::default(),
            calls: Arc::clone(&calls),
        }),
        Arc::new(domain::items::InMemoryItemCache::default()),
        Arc::new(domain::items::RecordingItemNotifier::default()),
        Arc::new(domain::flags::AllOff),
        Arc::new(crate::support::OnTokio),
    );
    state.tenants = TenantService::new(
        Arc::new(CountingTenants {
            inner: InMemoryTenantRepository::default(),
            reads: Arc::clone(&calls),
        }),
        Arc::new(crate::support::OnTokio),
    );
    (TestRouter::from_state(state), calls)
}

/// `count` copies of `selection`, each under an alias of its own.
fn aliased(count: usize, selection: &str) -> String {
    (0..count).map(|n| format!(" a{n}: {selection}")).collect()
}

#[tokio::test]
async fn fifty_aliased_lists_of_nothing_but_typenames_are_refused_before_any_storage_call() {
    let (router, calls) = counted_router(crate::support::rate_limit_settings());
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    calls.store(0, Ordering::SeqCst);
    let document = format!(
        "query($t: UUID!) {}",
        block(&aliased(50, "items(tenantId: $t) { __typename }"))
    );
    let answer = graphql(&router, &admin, &document, json!({ "t": tenant_id })).await;
    assert!(answer["data"].is_null(), "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .is_some_and(|message| message.contains("too complex")),
        "{answer}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing reached storage");
}

#[tokio::test]
async fn more_mutations_than_the_limit_are_refused_and_nothing_is_written() {
    let (router, calls) = counted_router(crate::support::rate_limit_settings());
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    calls.store(0, Ordering::SeqCst);
    let creates: String = (0..11)
        .map(|n| {
            let input = block(&format!("name: \"item {n}\""));
            format!(
                " c{n}: createItem(tenantId: $t, input: {input}) {}",
                block("id")
            )
        })
        .collect();
    let answer = graphql(
        &router,
        &admin,
        &format!("mutation($t: UUID!) {}", block(&creates)),
        json!({ "t": tenant_id }),
    )
    .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["type"], "/problems/query-too-costly",
        "{answer}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing written");
}

#[tokio::test]
async fn fifty_aliases_of_one_tenant_cost_one_read() {
    let (router, calls) = counted_router(crate::support::rate_limit_settings());
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    calls.store(0, Ordering::SeqCst);
    let document = format!(
        "query($t: UUID!) {}",
        block(&aliased(50, "tenant(id: $t) { name }"))
    );
    let answer = graphql(&router, &admin, &document, json!({ "t": tenant_id })).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(answer["data"]["a49"]["name"], "Acme");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one read for fifty aliases"
    );
}

#[tokio::test]
async fn each_storage_call_of_a_document_is_charged_to_the_rate_limit() {
    let limits = adapter_http::rate_limit::RateLimitSettings {
        per_principal_burst: 20,
        per_principal_per_second: 1,
        ..crate::support::rate_limit_settings()
    };
    let (router, calls) = counted_router(limits);
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    let lamp = item(&router, &admin, &tenant_id, "Lamp").await;
    let read = "item(tenantId: $t, id: $i) { name }";
    let document = |count| {
        format!(
            "query($t: UUID!, $i: UUID!) {}",
            block(&aliased(count, read))
        )
    };
    let variables = json!({ "t": tenant_id, "i": lamp["id"] });

    let cheap = router
        .send_with(
            Method::POST,
            "/api/v1/graphql",
            Some(json!({ "query": document(5), "variables": variables })),
            &[("authorization", &admin)],
        )
        .await;
    assert_eq!(cheap.status, StatusCode::OK);
    let remaining: u32 = cheap.headers["ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    calls.store(0, Ordering::SeqCst);
    let costly = router
        .send_with(
            Method::POST,
            "/api/v1/graphql",
            Some(json!({ "query": document(remaining as usize + 2), "variables": variables })),
            &[("authorization", &admin)],
        )
        .await;
    assert_eq!(
        costly.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        costly.text()
    );
    costly.assert_problem("/problems/rate-limited");
    assert!(costly.headers.contains_key("retry-after"));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "refused before it ran");
}

/// Tenants whose reads never answer, counting the reads that were dropped unfinished.
struct HangingTenants {
    inner: InMemoryTenantRepository,
    started: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

struct CountOnDrop(Arc<AtomicUsize>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl TenantRepository for HangingTenants {
    async fn create(&self, tenant: &NewTenant) -> Result<Tenant, CreateTenantError> {
        self.inner.create(tenant).await
    }

    async fn get(&self, _id: TenantId) -> Result<Tenant, GetTenantError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let _counted = CountOnDrop(Arc::clone(&self.dropped));
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_request_that_is_cancelled_while_its_tenants_load_leaves_no_batch_running() {
    let (started, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut state = default_state();
    state.tenants = TenantService::new(
        Arc::new(HangingTenants {
            inner: InMemoryTenantRepository::default(),
            started: Arc::clone(&started),
            dropped: Arc::clone(&dropped),
        }),
        Arc::new(crate::support::OnTokio),
    );
    let router = TestRouter::from_state(state);
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    item(&router, &admin, &tenant_id, "Lamp").await;

    let headers = [("authorization", admin.as_str())];
    let request = router.send_with(
        Method::POST,
        "/api/v1/graphql",
        Some(json!({
            "query": "query($t: UUID!) { items(tenantId: $t) { edges { node { tenant { name } } } } }",
            "variables": { "t": tenant_id },
        })),
        &headers,
    );
    let cancelled = tokio::time::timeout(std::time::Duration::from_millis(200), request).await;
    assert!(
        cancelled.is_err(),
        "the request was still waiting for its tenant"
    );
    assert_eq!(started.load(Ordering::SeqCst), 1);
    for _ in 0..200 {
        if dropped.load(Ordering::SeqCst) == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the batch outlived the request that started it");
}

#[tokio::test]
async fn a_storage_failure_inside_graphql_is_counted_where_the_error_ratio_alert_reads() {
    struct BrokenTenants(InMemoryTenantRepository);

    #[async_trait::async_trait]
    impl TenantRepository for BrokenTenants {
        async fn create(&self, tenant: &NewTenant) -> Result<Tenant, CreateTenantError> {
            self.0.create(tenant).await
        }

        async fn get(&self, _id: TenantId) -> Result<Tenant, GetTenantError> {
            Err(GetTenantError::Unexpected(anyhow::anyhow!(
                "the database is gone"
            )))
        }
    }

    let mut state = default_state();
    state.tenants = TenantService::new(
        Arc::new(BrokenTenants(InMemoryTenantRepository::default())),
        Arc::new(crate::support::OnTokio),
    );
    let router = TestRouter::from_state(state);
    let (tenant_id, admin) = tenant(&router, "Acme").await;
    let series = "graphql_errors_total{status_class=\"5xx\"}";
    let before = metric(&router, series).await;
    let answer = graphql(
        &router,
        &admin,
        "query($t: UUID!) { tenant(id: $t) { name } }",
        json!({ "t": tenant_id }),
    )
    .await;
    assert_eq!(first_error(&answer)["status"], 500, "{answer}");
    assert!(
        !answer.to_string().contains("database is gone"),
        "no internals: {answer}"
    );
    assert!(metric(&router, series).await >= before + 1.0);
}

/// The value of one series on `/metrics` (`name{label="value"}`, labels as rendered), or 0.
async fn metric(router: &TestRouter, series: &str) -> f64 {
    let exposition = router.send(Method::GET, "/metrics", None).await.text();
    exposition
        .lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}
