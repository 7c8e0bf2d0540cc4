//! Whole trees and counts (SPEC §5): `ancestors`, `descendants` and
//! `sessionStats`, against answers worked out by hand on a tree five levels
//! deep with mixed statuses and organizations.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use sessiongraph::auth::{AuthSettings, KeySource};

use crate::helpers::*;
use crate::on_both_databases;

const SECRET: &str = "session-trees-secret-0123456789abcdefgh";
const ZONE: &str = "zone_t";

/// A user session of `zone_t`; `extra` overrides or adds keys.
fn session(id: &str, parent: Option<&str>, created_at: &str, extra: Value) -> Value {
    let mut record = json!({
        "session_type": "user", "id": id, "zone_id": ZONE, "organization_id": "org_a",
        "user_id": "usr_a", "parent_id": parent, "status": "active",
        "created_at": created_at, "expires_at": "2099-01-01T00:00:00Z",
    });
    for (key, value) in extra.as_object().expect("object") {
        record[key] = value.clone();
    }
    record
}

/// ```text
/// t0  active                      app_web ua_1   (root)
/// ├─ t1a active                   app_web ua_1
/// │  ├─ t2a revoked               app_web ua_2
/// │  │  └─ t3a active             app_web ua_2
/// │  │     └─ t4a expired (org_b) app_web        (stored active, past expiry)
/// │  └─ t2b active (org_b)        app_api
/// └─ t1b expired (stored)         app_api
///    └─ t2c active                app_api
/// s0  active                      app_web ua_1   (root)
/// └─ s1 revoked                           ua_2
/// a0  application session         app_api
/// ```
/// plus `zone_x`, which must never show: a root with a child.
fn document() -> Value {
    let app = |id: &str, slug: &str| {
        json!({
            "id": id, "zone_id": ZONE, "organization_id": "org_a",
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
            "dependencies_count": 0, "identifier": slug, "name": slug,
            "owner_type": "customer", "slug": slug
        })
    };
    let user_agent = |id: &str, slug: &str, digit: char| {
        json!({
            "id": id, "zone_id": ZONE, "organization_id": "org_a",
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
            "identifier": format!("ua:{}", digit.to_string().repeat(64)),
            "name": slug, "slug": slug
        })
    };
    let user = |id: &str, zone: &str| {
        json!({
            "id": id, "zone_id": zone, "organization_id": "org_a",
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
            "email": format!("{id}@example.com"), "email_verified": true
        })
    };
    let at = |hour: &str| format!("2026-01-01T{hour}:00:00Z");
    json!({
        "applications": [app("app_web", "web"), app("app_api", "api"), {
            "id": "app_n", "zone_id": "zone_n", "organization_id": "org_b",
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
            "dependencies_count": 0, "identifier": "n", "name": "n",
            "owner_type": "customer", "slug": "n"
        }],
        "users": [user("usr_a", ZONE), user("usr_x", "zone_x")],
        "user_agents": [user_agent("ua_1", "one", '1'), user_agent("ua_2", "two", '2')],
        "sessions": [
            session("t0", None, &at("00"), json!({ "application_id": "app_web", "user_agent_id": "ua_1" })),
            session("t1a", Some("t0"), &at("01"), json!({ "application_id": "app_web", "user_agent_id": "ua_1" })),
            session("t2a", Some("t1a"), &at("02"), json!({ "application_id": "app_web", "user_agent_id": "ua_2", "status": "revoked" })),
            session("t3a", Some("t2a"), &at("03"), json!({ "application_id": "app_web", "user_agent_id": "ua_2" })),
            session("t4a", Some("t3a"), &at("04"), json!({ "application_id": "app_web", "organization_id": "org_b", "expires_at": "2026-01-02T00:00:00Z" })),
            session("t2b", Some("t1a"), "2026-01-01T02:30:00Z", json!({ "application_id": "app_api", "organization_id": "org_b" })),
            session("t1b", Some("t0"), "2026-01-01T01:30:00Z", json!({ "application_id": "app_api", "status": "expired" })),
            session("t2c", Some("t1b"), &at("05"), json!({ "application_id": "app_api" })),
            session("s0", None, "2026-01-02T00:00:00Z", json!({ "application_id": "app_web", "user_agent_id": "ua_1" })),
            session("s1", Some("s0"), "2026-01-02T01:00:00Z", json!({ "user_agent_id": "ua_2", "status": "revoked" })),
            {
                "session_type": "application", "id": "a0", "zone_id": ZONE, "organization_id": "org_a",
                "application_id": "app_api", "status": "active", "created_at": "2026-01-03T00:00:00Z"
            },
            // An application session without organization (every
            // organization's) of an application of org_b, in its own zone.
            {
                "session_type": "application", "id": "n0", "zone_id": "zone_n",
                "application_id": "app_n", "status": "active", "created_at": "2026-01-03T00:00:00Z"
            },
            {
                "session_type": "user", "id": "x0", "zone_id": "zone_x", "organization_id": "org_a",
                "user_id": "usr_x", "status": "active", "created_at": "2026-01-01T00:00:00Z"
            },
            {
                "session_type": "user", "id": "x1", "zone_id": "zone_x", "organization_id": "org_a",
                "user_id": "usr_x", "parent_id": "x0", "status": "active", "created_at": "2026-01-01T01:00:00Z"
            }
        ]
    })
}

async fn open_app(db: TestDb) -> TestApp {
    spawn_app_with(db, &document()).await
}

async fn authenticated_app(db: TestDb) -> TestApp {
    spawn_app_with_configured(db, &document(), |config| {
        config.auth = AuthSettings {
            keys: Some(KeySource::Secret(SECRET.to_owned())),
            ..AuthSettings::default()
        }
    })
    .await
}

fn token(org: &str, zones: &[&str]) -> String {
    let claims = json!({
        "sub": "trees", "exp": jsonwebtoken::get_current_timestamp() + 600,
        "org": org, "zones": zones, "scope": "sessions:read"
    });
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

/// The whole response body of a request made with `token`.
async fn post_as(app: &TestApp, token: &str, query: &str) -> Value {
    app.client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("POST /graphql")
        .json()
        .await
        .expect("JSON body")
}

fn node_ids(connection: &Value) -> Vec<&str> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {connection}"))
        .iter()
        .map(|node| node["id"].as_str().expect("id"))
        .collect()
}

fn ancestor_ids(session: &Value) -> Vec<&str> {
    session["ancestors"]
        .as_array()
        .unwrap_or_else(|| panic!("no ancestors in {session}"))
        .iter()
        .map(|node| node["id"].as_str().expect("id"))
        .collect()
}

on_both_databases!(
    ancestors_run_from_the_root_down_to_the_parent,
    descendants_list_the_whole_subtree_in_list_order,
    descendants_page_filter_and_limit_depth,
    trees_of_a_whole_level_load_in_a_fixed_number_of_statements,
    trees_and_stats_stay_inside_the_token,
    session_stats_count_what_the_list_would_show,
    bad_tree_and_stats_arguments_are_bad_user_input,
);

async fn ancestors_run_from_the_root_down_to_the_parent(db: TestDb) {
    let app = open_app(db).await;
    let data = app
        .query(
            r#"{ t4a: session(id: "t4a") { ... on UserSession { ancestors { id depth } } }
                 t1b: session(id: "t1b") { ... on UserSession { ancestors { id } } }
                 t0: session(id: "t0") { ... on UserSession { ancestors { id } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["t4a"]["ancestors"],
        json!([
            { "id": "t0", "depth": 0 }, { "id": "t1a", "depth": 1 },
            { "id": "t2a", "depth": 2 }, { "id": "t3a", "depth": 3 }
        ])
    );
    assert_eq!(ancestor_ids(&data["t1b"]), ["t0"]);
    assert_eq!(data["t0"]["ancestors"], json!([]));
    // The same order when the document does not read `depth`, which is
    // then not selected.
    let without_depth = app
        .query(
            r#"{ session(id: "t4a") { ... on UserSession { ancestors { id } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        ancestor_ids(&without_depth["session"]),
        ["t0", "t1a", "t2a", "t3a"]
    );
}

async fn descendants_list_the_whole_subtree_in_list_order(db: TestDb) {
    let app = open_app(db).await;
    let data = app
        .query(
            r#"{ t0: session(id: "t0") { ... on UserSession { descendants { totalCount nodes { ... on UserSession { id } } } } }
                 t1a: session(id: "t1a") { ... on UserSession { descendants { totalCount nodes { ... on UserSession { id } } } } }
                 t4a: session(id: "t4a") { ... on UserSession { descendants { totalCount nodes { ... on UserSession { id } } } } }
                 old: session(id: "t0") { ... on UserSession {
                   descendants(orderBy: { field: CREATED_AT, direction: ASC }) { nodes { ... on UserSession { id } } } } } }"#,
            json!({}),
        )
        .await;
    let everything_below_t0 = ["t2c", "t4a", "t3a", "t2b", "t2a", "t1b", "t1a"];
    assert_eq!(node_ids(&data["t0"]["descendants"]), everything_below_t0);
    assert_eq!(data["t0"]["descendants"]["totalCount"], 7);
    assert_eq!(
        node_ids(&data["t1a"]["descendants"]),
        ["t4a", "t3a", "t2b", "t2a"]
    );
    assert_eq!(data["t1a"]["descendants"]["totalCount"], 4);
    assert_eq!(
        data["t4a"]["descendants"],
        json!({ "totalCount": 0, "nodes": [] })
    );
    let mut oldest_first = everything_below_t0.to_vec();
    oldest_first.reverse();
    assert_eq!(node_ids(&data["old"]["descendants"]), oldest_first);
}

async fn descendants_page_filter_and_limit_depth(db: TestDb) {
    let app = open_app(db).await;
    let tree = |arguments: &str| {
        format!(
            r#"{{ root: session(id: "t0") {{ ... on UserSession {{ descendants({arguments}) {{
                 totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor startCursor }} nodes {{ ... on UserSession {{ id }} }} }} }} }}
               inner: session(id: "t1a") {{ ... on UserSession {{ descendants({arguments}) {{
                 totalCount nodes {{ ... on UserSession {{ id }} }} }} }} }} }}"#
        )
    };
    let data = app.query(&tree("maxDepth: 1"), json!({})).await;
    assert_eq!(node_ids(&data["root"]["descendants"]), ["t1b", "t1a"]);
    assert_eq!(data["root"]["descendants"]["totalCount"], 2);
    assert_eq!(node_ids(&data["inner"]["descendants"]), ["t2b", "t2a"]);
    let data = app.query(&tree("maxDepth: 2"), json!({})).await;
    assert_eq!(
        node_ids(&data["root"]["descendants"]),
        ["t2c", "t2b", "t2a", "t1b", "t1a"]
    );
    assert_eq!(
        node_ids(&data["inner"]["descendants"]),
        ["t3a", "t2b", "t2a"]
    );
    assert_eq!(data["inner"]["descendants"]["totalCount"], 3);
    // The effective status: t4a is stored active but past its expiry.
    let data = app
        .query(&tree("filter: { status: [ACTIVE] }"), json!({}))
        .await;
    assert_eq!(
        node_ids(&data["root"]["descendants"]),
        ["t2c", "t3a", "t2b", "t1a"]
    );
    assert_eq!(data["root"]["descendants"]["totalCount"], 4);
    assert_eq!(node_ids(&data["inner"]["descendants"]), ["t3a", "t2b"]);
    let data = app
        .query(
            &tree("filter: { status: [EXPIRED], includeNested: false }"),
            json!({}),
        )
        .await;
    assert_eq!(node_ids(&data["root"]["descendants"]), ["t4a", "t1b"]);
    // Pages: forwards with cursors, then backwards.
    let data = app.query(&tree("first: 3"), json!({})).await;
    let page = &data["root"]["descendants"];
    assert_eq!(node_ids(page), ["t2c", "t4a", "t3a"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["totalCount"], 7);
    let after = page["pageInfo"]["endCursor"].as_str().expect("cursor");
    let data = app
        .query(&tree(&format!("first: 3, after: \"{after}\"")), json!({}))
        .await;
    let page = &data["root"]["descendants"];
    assert_eq!(node_ids(page), ["t2b", "t2a", "t1b"]);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    let before = page["pageInfo"]["startCursor"].as_str().expect("cursor");
    let data = app
        .query(&tree(&format!("last: 2, before: \"{before}\"")), json!({}))
        .await;
    assert_eq!(node_ids(&data["root"]["descendants"]), ["t4a", "t3a"]);
    let data = app.query(&tree("last: 2"), json!({})).await;
    assert_eq!(node_ids(&data["root"]["descendants"]), ["t1b", "t1a"]);
    assert_eq!(node_ids(&data["inner"]["descendants"]), ["t2b", "t2a"]);
}

async fn trees_of_a_whole_level_load_in_a_fixed_number_of_statements(db: TestDb) {
    let app = open_app(db).await;
    let query = r#"query($first: Int!) { sessions(zoneId: "zone_t", first: $first, filter: { includeNested: true }) {
        nodes { ... on UserSession { id
          ancestors { id }
          descendants(first: 2) { totalCount nodes { ... on UserSession { id ancestors { id } } } } } } } }"#;
    let mut counts = Vec::new();
    for first in [3, 11] {
        let before = app.metrics.sql_statements.get();
        let data = app.query(query, json!({ "first": first })).await;
        counts.push(app.metrics.sql_statements.get() - before);
        if first == 11 {
            let nodes = data["sessions"]["nodes"].as_array().expect("nodes");
            let t3a = nodes.iter().find(|n| n["id"] == "t3a").expect("t3a listed");
            assert_eq!(ancestor_ids(t3a), ["t0", "t1a", "t2a"]);
            assert_eq!(node_ids(&t3a["descendants"]), ["t4a"]);
            let t0 = nodes.iter().find(|n| n["id"] == "t0").expect("t0 listed");
            assert_eq!(node_ids(&t0["descendants"]), ["t2c", "t4a"]);
            assert_eq!(t0["descendants"]["totalCount"], 7);
            assert_eq!(
                ancestor_ids(&t0["descendants"]["nodes"][1]),
                ["t0", "t1a", "t2a", "t3a"]
            );
        }
    }
    // The page, one level of ancestors and descendants (pages, counts), and
    // the descendants' ancestors: at most 5 statements whatever the rows
    // (fewer when the second level's keys join a batch of the first that
    // has not started yet).
    for count in &counts {
        assert!(*count <= 5, "{counts:?} statements; at most 5 expected");
    }
}

async fn trees_and_stats_stay_inside_the_token(db: TestDb) {
    let app = authenticated_app(db).await;
    let org_a = token("org_a", &[ZONE]);
    // t4a and t2b belong to org_b: org_a never sees them.
    let body = post_as(
        &app,
        &org_a,
        r#"{ t0: session(id: "t0") { ... on UserSession { descendants { totalCount nodes { ... on UserSession { id } } } } }
             t1a: session(id: "t1a") { ... on UserSession { descendants { totalCount nodes { ... on UserSession { id } } } } }
             t3a: session(id: "t3a") { ... on UserSession { ancestors { id } } }
             t4a: session(id: "t4a") { __typename }
             stats: sessionStats(zoneId: "zone_t", filter: { includeNested: true }) {
               total byStatus { status count } } }"#,
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let data = &body["data"];
    assert_eq!(
        node_ids(&data["t0"]["descendants"]),
        ["t2c", "t3a", "t2a", "t1b", "t1a"]
    );
    assert_eq!(data["t0"]["descendants"]["totalCount"], 5);
    assert_eq!(node_ids(&data["t1a"]["descendants"]), ["t3a", "t2a"]);
    assert_eq!(ancestor_ids(&data["t3a"]), ["t0", "t1a", "t2a"]);
    assert_eq!(data["t4a"], Value::Null);
    assert_eq!(data["stats"]["total"], 9);
    assert_eq!(
        data["stats"]["byStatus"],
        json!([
            { "status": "ACTIVE", "count": 6 },
            { "status": "EXPIRED", "count": 1 },
            { "status": "REVOKED", "count": 2 }
        ])
    );
    // org_b sees its own sessions, but no ancestor of another organization.
    let org_b = token("org_b", &[ZONE]);
    let body = post_as(
        &app,
        &org_b,
        r#"{ session(id: "t4a") { ... on UserSession { ancestors { id } descendants { totalCount } } } }"#,
    )
    .await;
    assert_eq!(
        body["data"]["session"],
        json!({ "ancestors": [], "descendants": { "totalCount": 0 } }),
        "{body}"
    );
    // A session every organization reads may name another organization's
    // application: it is counted, but the application is not listed.
    let both = token("org_a", &[ZONE, "zone_n"]);
    let body = post_as(
        &app,
        &both,
        r#"{ sessionStats(zoneId: "zone_n") { total byApplication { application { id } count } } }"#,
    )
    .await;
    assert_eq!(
        body,
        json!({ "data": { "sessionStats": { "total": 1, "byApplication": [] } } })
    );
    // Another zone's statistics are refused, and its trees never join ours.
    let body = post_as(
        &app,
        &org_a,
        r#"{ sessionStats(zoneId: "zone_x") { total } }"#,
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let body = post_as(&app, &org_a, r#"{ session(id: "x1") { __typename } }"#).await;
    assert_eq!(body["data"]["session"], Value::Null, "{body}");
}

async fn session_stats_count_what_the_list_would_show(db: TestDb) {
    let app = open_app(db).await;
    let data = app
        .query(
            r#"{ all: sessionStats(zoneId: "zone_t", filter: { includeNested: true }) {
                   total
                   byStatus { status count }
                   byType { type count }
                   byApplication { application { id name } count }
                   byUserAgent(first: 1) { userAgent { id } count } }
                 entries: sessionStats(zoneId: "zone_t") { total byType { type count } }
                 revoked: sessionStats(zoneId: "zone_t", filter: { status: [REVOKED], includeNested: true }) {
                   total byApplication { application { id } count } byUserAgent { userAgent { id } count } }
                 none: sessionStats(zoneId: "zone_t", filter: { status: [] }) {
                   total byStatus { count } byApplication { count } }
                 empty: sessionStats(zoneId: "zone_nobody") { total byType { count } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["all"],
        json!({
            "total": 11,
            "byStatus": [
                { "status": "ACTIVE", "count": 7 },
                { "status": "EXPIRED", "count": 2 },
                { "status": "REVOKED", "count": 2 }
            ],
            "byType": [{ "type": "USER", "count": 10 }, { "type": "APPLICATION", "count": 1 }],
            "byApplication": [
                { "application": { "id": "app_web", "name": "web" }, "count": 6 },
                { "application": { "id": "app_api", "name": "api" }, "count": 4 }
            ],
            // ua_1 and ua_2 tie at 3: the id decides.
            "byUserAgent": [{ "userAgent": { "id": "ua_1" }, "count": 3 }]
        })
    );
    // Entry sessions only by default: t0, t1a, t1b, s0, s1, a0.
    assert_eq!(
        data["entries"],
        json!({ "total": 6, "byType": [{ "type": "USER", "count": 5 }, { "type": "APPLICATION", "count": 1 }] })
    );
    assert_eq!(
        data["revoked"],
        json!({
            "total": 2,
            "byApplication": [{ "application": { "id": "app_web" }, "count": 1 }],
            "byUserAgent": [{ "userAgent": { "id": "ua_2" }, "count": 2 }]
        })
    );
    assert_eq!(
        data["none"],
        json!({ "total": 0, "byStatus": [{ "count": 0 }, { "count": 0 }, { "count": 0 }], "byApplication": [] })
    );
    assert_eq!(
        data["empty"],
        json!({ "total": 0, "byType": [{ "count": 0 }, { "count": 0 }] })
    );
    // Each part is one statement, run only when selected.
    let before = app.metrics.sql_statements.get();
    app.query(r#"{ sessionStats(zoneId: "zone_t") { total } }"#, json!({}))
        .await;
    assert_eq!(app.metrics.sql_statements.get() - before, 1);
    let before = app.metrics.sql_statements.get();
    app.query(
        r#"{ sessionStats(zoneId: "zone_t") { byApplication(first: 100) { application { name } count } byUserAgent { userAgent { name } count } } }"#,
        json!({}),
    )
    .await;
    // Two grouped statements, then one batch for each kind of record.
    assert_eq!(app.metrics.sql_statements.get() - before, 4);
}

async fn bad_tree_and_stats_arguments_are_bad_user_input(db: TestDb) {
    let app = open_app(db).await;
    for query in [
        r#"{ session(id: "t0") { ... on UserSession { descendants(maxDepth: 0) { totalCount } } } }"#,
        r#"{ session(id: "t0") { ... on UserSession { descendants(maxDepth: -2) { totalCount } } } }"#,
        r#"{ session(id: "t0") { ... on UserSession { descendants(first: 101) { totalCount } } } }"#,
        r#"{ session(id: "t0") { ... on UserSession { descendants(after: "nope") { totalCount } } } }"#,
        r#"{ sessionStats(zoneId: "zone_t") { byApplication(first: 101) { count } } }"#,
        r#"{ sessionStats(zoneId: "zone_t") { byUserAgent(first: -1) { count } } }"#,
    ] {
        assert_eq!(
            app.error_code(query, json!({})).await,
            "BAD_USER_INPUT",
            "{query}"
        );
    }
}
