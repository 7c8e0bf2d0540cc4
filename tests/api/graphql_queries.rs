//! Reading the session graph over HTTP: every root field, relation, filter
//! and ordering, against what the fixture stored.

use serde_json::{Value, json};

use crate::helpers::*;

/// Selects `__typename` and `id` of either session type.
const IDS: &str = "
fragment Ids on Session {
  __typename
  ... on UserSession { id }
  ... on ApplicationSession { id }
}";

const FAR: &str = "2099-01-01T00:00:00Z";

/// `query` followed by the `Ids` fragment it spreads.
fn with_ids(query: &str) -> String {
    format!("{query}\n{IDS}")
}

/// The ids of a connection's `nodes`, in order.
fn ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {connection}"))
        .iter()
        .map(|node| node["id"].as_str().expect("node id").to_owned())
        .collect()
}

fn merged(mut base: Value, extra: Value) -> Value {
    let object = base.as_object_mut().expect("object");
    for (key, value) in extra.as_object().expect("object").clone() {
        object.insert(key, value);
    }
    base
}

/// An active user session of `zone_demo`, expiring in 2099.
fn user_session(id: &str, user: &str, created_at: Option<&str>, extra: Value) -> Value {
    merged(
        json!({
            "session_type": "user", "id": id, "zone_id": "zone_demo", "organization_id": "org_demo",
            "user_id": user, "status": "active", "created_at": created_at, "expires_at": FAR
        }),
        extra,
    )
}

fn push(document: &mut Value, array: &str, record: Value) {
    document[array].as_array_mut().expect("array").push(record);
}

/// The example document plus:
/// - `ses_grand01` (depth 2, under `ses_child01`) and `ses_great01` (depth 3);
/// - `ses_child02`, a revoked second child of `ses_root01`;
/// - a second user, user agent and application with their sessions;
/// - `ses_nulls` without any timestamp, `ses_stored_exp` stored expired;
/// - `zone_other`, which must never leak into `zone_demo`'s lists;
/// - `zone_order`, six sessions whose keys tie and go missing, for ordering.
fn document() -> Value {
    let mut doc = example_document();
    push(
        &mut doc,
        "applications",
        json!({
            "id": "app_second", "zone_id": "zone_demo", "organization_id": "org_demo",
            "created_at": "2026-03-05T10:00:00Z", "updated_at": "2026-03-05T11:00:00Z",
            "dependencies_count": 0, "identifier": "billing", "name": "Billing",
            "owner_type": "platform", "slug": "billing"
        }),
    );
    push(
        &mut doc,
        "applications",
        json!({
            "id": "app_z2", "zone_id": "zone_other", "organization_id": "org_other",
            "created_at": "2026-03-06T10:00:00Z", "updated_at": "2026-03-06T10:00:00Z",
            "dependencies_count": 0, "identifier": "team-dashboard", "name": "Other dashboard",
            "owner_type": "customer", "slug": "team-dashboard"
        }),
    );
    push(
        &mut doc,
        "users",
        json!({
            "id": "usr_second", "zone_id": "zone_demo", "organization_id": "org_demo",
            "created_at": "2026-02-12T00:00:00Z", "updated_at": "2026-02-13T00:00:00Z",
            "email": "grace@example.com", "email_verified": false
        }),
    );
    push(
        &mut doc,
        "users",
        json!({
            "id": "usr_z2", "zone_id": "zone_other", "organization_id": "org_other",
            "created_at": "2026-02-12T00:00:00Z", "updated_at": "2026-02-12T00:00:00Z",
            "email": "other@example.com", "email_verified": true
        }),
    );
    push(
        &mut doc,
        "users",
        json!({
            "id": "usr_order", "zone_id": "zone_order", "organization_id": "org_order",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "email": "order@example.com", "email_verified": true
        }),
    );
    push(
        &mut doc,
        "user_agents",
        json!({
            "id": "ua_second", "zone_id": "zone_demo", "organization_id": "org_demo",
            "created_at": "2026-02-20T00:00:00Z", "updated_at": "2026-02-21T00:00:00Z",
            "identifier": format!("ua:{}", "0123456789abcdef".repeat(4)),
            "name": "Firefox 140", "slug": "firefox"
        }),
    );
    let sessions = [
        user_session(
            "ses_grand01",
            "usr_81aa0e",
            Some("2026-03-04T08:10:00Z"),
            json!({ "parent_id": "ses_child01", "user_agent_id": "ua_7d2c44", "application_id": "app_2f9c1d" }),
        ),
        user_session(
            "ses_great01",
            "usr_81aa0e",
            Some("2026-03-04T08:15:00Z"),
            json!({ "parent_id": "ses_grand01", "user_agent_id": "ua_7d2c44" }),
        ),
        user_session(
            "ses_child02",
            "usr_81aa0e",
            Some("2026-03-04T08:20:00Z"),
            json!({ "parent_id": "ses_root01", "application_id": "app_second", "status": "revoked" }),
        ),
        user_session(
            "ses_other01",
            "usr_second",
            Some("2026-03-05T00:00:00.123456789Z"),
            json!({
                "user_agent_id": "ua_second",
                "updated_at": "2026-03-05T00:00:00.5Z",
                "authenticated_at": "2026-03-05T01:02:03+02:00"
            }),
        ),
        user_session(
            "ses_nulls",
            "usr_second",
            None,
            json!({ "expires_at": null, "organization_id": null }),
        ),
        user_session(
            "ses_stored_exp",
            "usr_second",
            Some("2026-03-01T00:00:00Z"),
            json!({ "status": "expired" }),
        ),
        json!({
            "session_type": "application", "id": "ses_app02", "zone_id": "zone_demo",
            "organization_id": "org_demo", "application_id": "app_second",
            "created_at": "2026-03-02T00:00:00Z", "expires_at": FAR
        }),
        json!({
            "session_type": "user", "id": "ses_z2", "zone_id": "zone_other", "user_id": "usr_z2",
            "application_id": "app_z2", "created_at": "2026-03-09T00:00:00Z", "expires_at": FAR
        }),
        // zone_order: o_B < o_a < o_b < o_c < o_d < o_e byte by byte.
        order_session(
            "o_a",
            Some("2026-01-01T01:00:00+01:00"),
            Some("2099-01-02T00:00:00Z"),
            Some("2026-01-01T00:00:00Z"),
        ),
        order_session(
            "o_b",
            Some("2026-01-01T00:00:00Z"),
            Some("2099-01-01T00:00:00Z"),
            None,
        ),
        order_session(
            "o_c",
            Some("2026-01-02T00:00:00Z"),
            None,
            Some("2025-12-31T00:00:00Z"),
        ),
        order_session(
            "o_d",
            None,
            Some("2099-01-01T00:00:00Z"),
            Some("2026-01-01T00:00:00Z"),
        ),
        order_session("o_e", None, None, None),
        order_session(
            "o_B",
            Some("2026-01-01T00:00:00Z"),
            Some("2099-01-03T00:00:00Z"),
            Some("2026-01-01T00:00:00.5Z"),
        ),
    ];
    for session in sessions {
        push(&mut doc, "sessions", session);
    }
    doc
}

fn order_session(
    id: &str,
    created_at: Option<&str>,
    expires_at: Option<&str>,
    authenticated_at: Option<&str>,
) -> Value {
    json!({
        "session_type": "user", "id": id, "zone_id": "zone_order", "user_id": "usr_order",
        "created_at": created_at, "expires_at": expires_at, "authenticated_at": authenticated_at
    })
}

/// `Query.sessions` of `zone_demo` with `args`, as ids.
async fn listed(app: &TestApp, args: &str) -> (Vec<String>, i64) {
    let query = with_ids(&format!(
        "{{ sessions(zoneId: \"zone_demo\", first: 100{args}) {{ nodes {{ ...Ids }} totalCount }} }}"
    ));
    let data = app.query(&query, json!({})).await;
    let total = data["sessions"]["totalCount"].as_i64().expect("totalCount");
    (ids(&data["sessions"]), total)
}

async fn node_and_nodes_refetch_every_kind(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let query = r#"
        query ($id: ID!) {
          node(id: $id) {
            __typename
            id
            ... on UserSession { depth userId }
            ... on ApplicationSession { applicationId }
            ... on Application { slug }
            ... on User { email }
            ... on UserAgent { name }
          }
        }"#;
    let cases = [
        (
            "ses_great01",
            json!({ "__typename": "UserSession", "id": "ses_great01", "depth": 3, "userId": "usr_81aa0e" }),
        ),
        (
            "ses_app01",
            json!({ "__typename": "ApplicationSession", "id": "ses_app01", "applicationId": "app_2f9c1d" }),
        ),
        (
            "app_2f9c1d",
            json!({ "__typename": "Application", "id": "app_2f9c1d", "slug": "team-dashboard" }),
        ),
        (
            "usr_81aa0e",
            json!({ "__typename": "User", "id": "usr_81aa0e", "email": "ada@example.com" }),
        ),
        (
            "ua_7d2c44",
            json!({ "__typename": "UserAgent", "id": "ua_7d2c44", "name": "Acme CLI 2.4" }),
        ),
        // Another zone's objects are found too: ids are global.
        (
            "usr_z2",
            json!({ "__typename": "User", "id": "usr_z2", "email": "other@example.com" }),
        ),
    ];
    for (id, expected) in cases {
        let data = app.query(query, json!({ "id": id })).await;
        assert_eq!(data["node"], expected, "node({id})");
    }
    let data = app.query(query, json!({ "id": "nope" })).await;
    assert_eq!(data["node"], Value::Null);

    let data = app
        .query(
            r#"query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"#,
            json!({ "ids": ["ua_7d2c44", "nope", "ses_app01", "usr_81aa0e", "app_2f9c1d", "ses_root01", "ses_root01"] }),
        )
        .await;
    assert_eq!(
        data["nodes"],
        json!([
            { "__typename": "UserAgent", "id": "ua_7d2c44" },
            null,
            { "__typename": "ApplicationSession", "id": "ses_app01" },
            { "__typename": "User", "id": "usr_81aa0e" },
            { "__typename": "Application", "id": "app_2f9c1d" },
            { "__typename": "UserSession", "id": "ses_root01" },
            { "__typename": "UserSession", "id": "ses_root01" },
        ])
    );
    let data = app.query("{ nodes(ids: []) { id } }", json!({})).await;
    assert_eq!(data["nodes"], json!([]));
}

async fn session_lookup_gives_null_for_other_kinds(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let query = with_ids("query ($id: ID!) { session(id: $id) { ...Ids } }");
    for (id, typename) in [
        ("ses_root01", "UserSession"),
        ("ses_app01", "ApplicationSession"),
        ("ses_z2", "UserSession"),
    ] {
        let data = app.query(&query, json!({ "id": id })).await;
        assert_eq!(data["session"], json!({ "__typename": typename, "id": id }));
    }
    for id in ["app_2f9c1d", "usr_81aa0e", "ua_7d2c44", "nope"] {
        let (status, body) = app.post_graphql(&query, json!({ "id": id })).await;
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(body["data"]["session"], Value::Null, "session({id})");
    }
    // The other single lookups are typed too.
    let data = app
        .query(
            r#"{
              a: application(id: "app_second") { id name }
              b: application(id: "ses_root01") { id }
              c: user(id: "usr_second") { id email }
              d: user(id: "app_second") { id }
              e: userAgent(id: "ua_second") { id name }
              f: userAgent(id: "usr_second") { id }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "a": { "id": "app_second", "name": "Billing" },
            "b": null,
            "c": { "id": "usr_second", "email": "grace@example.com" },
            "d": null,
            "e": { "id": "ua_second", "name": "Firefox 140" },
            "f": null,
        })
    );
}

async fn root_lists_of_applications_users_and_user_agents(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let data = app
        .query(
            r#"{
              applications(zoneId: "zone_demo") {
                totalCount
                nodes {
                  id createdAt updatedAt dependenciesCount identifier name organizationId
                  ownerType slug zoneId description
                  metadata { docsUrl }
                  protocols { oauth2 { redirectUris postLogoutRedirectUris } }
                }
                edges { cursor node { id } }
                pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
              }
              users(zoneId: "zone_demo") {
                totalCount
                nodes {
                  id createdAt updatedAt email emailVerified organizationId zoneId
                  authenticatedAt issuer providerId subject
                }
              }
              userAgents(zoneId: "zone_demo") {
                totalCount
                nodes { id createdAt updatedAt identifier name organizationId slug zoneId }
              }
              otherApps: applications(zoneId: "zone_other") { totalCount nodes { id } }
            }"#,
            json!({}),
        )
        .await;
    let apps = &data["applications"];
    assert_eq!(apps["totalCount"], 2);
    assert_eq!(
        apps["nodes"],
        json!([
            {
                "id": "app_second", "createdAt": "2026-03-05T10:00:00Z", "updatedAt": "2026-03-05T11:00:00Z",
                "dependenciesCount": 0, "identifier": "billing", "name": "Billing", "organizationId": "org_demo",
                "ownerType": "PLATFORM", "slug": "billing", "zoneId": "zone_demo", "description": null,
                "metadata": null, "protocols": null
            },
            {
                "id": "app_2f9c1d", "createdAt": "2026-03-01T09:00:00Z", "updatedAt": "2026-03-02T10:30:00Z",
                "dependenciesCount": 2, "identifier": "team-dashboard", "name": "Team Dashboard",
                "organizationId": "org_demo", "ownerType": "CUSTOMER", "slug": "team-dashboard",
                "zoneId": "zone_demo", "description": "Internal metrics dashboard",
                "metadata": { "docsUrl": "https://docs.example.com/dashboard" },
                "protocols": { "oauth2": {
                    "redirectUris": ["https://dash.example.com/callback"],
                    "postLogoutRedirectUris": ["https://dash.example.com/"]
                } }
            }
        ])
    );
    let edges = apps["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["id"], "app_second");
    assert_eq!(apps["pageInfo"]["startCursor"], edges[0]["cursor"]);
    assert_eq!(apps["pageInfo"]["endCursor"], edges[1]["cursor"]);
    assert_eq!(apps["pageInfo"]["hasNextPage"], false);
    assert_eq!(apps["pageInfo"]["hasPreviousPage"], false);

    assert_eq!(data["users"]["totalCount"], 2);
    assert_eq!(
        data["users"]["nodes"],
        json!([
            {
                "id": "usr_second", "createdAt": "2026-02-12T00:00:00Z", "updatedAt": "2026-02-13T00:00:00Z",
                "email": "grace@example.com", "emailVerified": false, "organizationId": "org_demo",
                "zoneId": "zone_demo", "authenticatedAt": null, "issuer": null, "providerId": null, "subject": null
            },
            {
                "id": "usr_81aa0e", "createdAt": "2026-02-11T08:00:00Z", "updatedAt": "2026-02-11T08:00:00Z",
                "email": "ada@example.com", "emailVerified": true, "organizationId": "org_demo",
                "zoneId": "zone_demo", "authenticatedAt": "2026-03-04T07:59:58Z",
                "issuer": "https://idp.example.com", "providerId": "prv_okta1", "subject": "00u1ada"
            }
        ])
    );
    assert_eq!(data["userAgents"]["totalCount"], 2);
    assert_eq!(
        data["userAgents"]["nodes"],
        json!([
            {
                "id": "ua_second", "createdAt": "2026-02-20T00:00:00Z", "updatedAt": "2026-02-21T00:00:00Z",
                "identifier": format!("ua:{}", "0123456789abcdef".repeat(4)), "name": "Firefox 140",
                "organizationId": "org_demo", "slug": "firefox", "zoneId": "zone_demo"
            },
            {
                "id": "ua_7d2c44", "createdAt": "2026-02-11T08:00:00Z", "updatedAt": "2026-02-11T08:00:00Z",
                "identifier": "ua:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "name": "Acme CLI 2.4", "organizationId": "org_demo", "slug": "acme-cli", "zoneId": "zone_demo"
            }
        ])
    );
    assert_eq!(
        data["otherApps"],
        json!({ "totalCount": 1, "nodes": [{ "id": "app_z2" }] })
    );
}

async fn session_fields_metadata_and_session_data(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let fields = "id status active zoneId organizationId applicationId authenticatedAt createdAt \
                  updatedAt expiresAt issuer subject providerId metadata { name } sessionData";
    let query = format!(
        "query ($id: ID!) {{ session(id: $id) {{ __typename \
           ... on UserSession {{ {fields} userId userAgentId parentId depth }} \
           ... on ApplicationSession {{ {fields} }} }} }}"
    );
    let data = app.query(&query, json!({ "id": "ses_root01" })).await;
    assert_eq!(
        data["session"],
        json!({
            "__typename": "UserSession", "id": "ses_root01", "status": "ACTIVE", "active": true,
            "zoneId": "zone_demo", "organizationId": "org_demo", "applicationId": null,
            "authenticatedAt": "2026-03-04T07:59:58Z", "createdAt": "2026-03-04T08:00:00Z",
            "updatedAt": "2026-03-04T08:00:00Z", "expiresAt": "2099-03-04T20:00:00Z",
            "issuer": "https://idp.example.com", "subject": "00u1ada", "providerId": "prv_okta1",
            "metadata": { "name": "Acme CLI 2.4" },
            "sessionData": { "sub": "00u1ada", "email": "ada@example.com", "amr": ["pwd", "otp"] },
            "userId": "usr_81aa0e", "userAgentId": "ua_7d2c44", "parentId": null, "depth": 0
        })
    );
    // Nothing is inherited from the parent, the user or the application.
    let data = app.query(&query, json!({ "id": "ses_child01" })).await;
    assert_eq!(
        data["session"],
        json!({
            "__typename": "UserSession", "id": "ses_child01", "status": "EXPIRED", "active": false,
            "zoneId": "zone_demo", "organizationId": "org_demo", "applicationId": "app_2f9c1d",
            "authenticatedAt": null, "createdAt": "2026-03-04T08:05:00.250Z", "updatedAt": null,
            "expiresAt": "2026-03-04T09:05:00Z", "issuer": null, "subject": null, "providerId": null,
            "metadata": { "name": "Team Dashboard" }, "sessionData": null,
            "userId": "usr_81aa0e", "userAgentId": null, "parentId": "ses_root01", "depth": 1
        })
    );
    let data = app.query(&query, json!({ "id": "ses_app01" })).await;
    assert_eq!(
        data["session"],
        json!({
            "__typename": "ApplicationSession", "id": "ses_app01", "status": "REVOKED", "active": false,
            "zoneId": "zone_demo", "organizationId": "org_demo", "applicationId": "app_2f9c1d",
            "authenticatedAt": null, "createdAt": "2026-03-03T11:00:00Z", "updatedAt": "2026-03-03T12:30:00Z",
            "expiresAt": null, "issuer": null, "subject": null, "providerId": null,
            "metadata": null,
            "sessionData": { "client_id": "team-dashboard", "scope": "sessions:read" }
        })
    );
    let data = app.query(&query, json!({ "id": "ses_nulls" })).await;
    let session = &data["session"];
    assert_eq!(session["organizationId"], Value::Null);
    assert_eq!(session["createdAt"], Value::Null);
    assert_eq!(session["expiresAt"], Value::Null);
    assert_eq!(session["metadata"], Value::Null);
    // Without an expiry a stored active session stays active.
    assert_eq!(session["status"], "ACTIVE");
    assert_eq!(session["active"], true);
}

async fn relations_of_sessions(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let query = r#"
        query ($id: ID!) {
          node(id: $id) {
            ... on UserSession {
              id depth
              user { id email }
              application { id name }
              userAgent { id slug }
              parent { id depth }
              root { id depth parentId }
              children { totalCount nodes { ... on UserSession { id depth } } }
            }
            ... on ApplicationSession {
              id
              application { id name }
            }
          }
        }"#;
    let data = app.query(query, json!({ "id": "ses_root01" })).await;
    assert_eq!(
        data["node"],
        json!({
            "id": "ses_root01", "depth": 0,
            "user": { "id": "usr_81aa0e", "email": "ada@example.com" },
            "application": null,
            "userAgent": { "id": "ua_7d2c44", "slug": "acme-cli" },
            "parent": null,
            "root": { "id": "ses_root01", "depth": 0, "parentId": null },
            "children": { "totalCount": 2, "nodes": [
                { "id": "ses_child02", "depth": 1 },
                { "id": "ses_child01", "depth": 1 }
            ] }
        })
    );
    let data = app.query(query, json!({ "id": "ses_child01" })).await;
    assert_eq!(
        data["node"],
        json!({
            "id": "ses_child01", "depth": 1,
            "user": { "id": "usr_81aa0e", "email": "ada@example.com" },
            "application": { "id": "app_2f9c1d", "name": "Team Dashboard" },
            "userAgent": null,
            "parent": { "id": "ses_root01", "depth": 0 },
            "root": { "id": "ses_root01", "depth": 0, "parentId": null },
            "children": { "totalCount": 1, "nodes": [{ "id": "ses_grand01", "depth": 2 }] }
        })
    );
    let data = app.query(query, json!({ "id": "ses_great01" })).await;
    assert_eq!(
        data["node"],
        json!({
            "id": "ses_great01", "depth": 3,
            "user": { "id": "usr_81aa0e", "email": "ada@example.com" },
            "application": null,
            "userAgent": { "id": "ua_7d2c44", "slug": "acme-cli" },
            "parent": { "id": "ses_grand01", "depth": 2 },
            "root": { "id": "ses_root01", "depth": 0, "parentId": null },
            "children": { "totalCount": 0, "nodes": [] }
        })
    );
    let data = app.query(query, json!({ "id": "ses_app02" })).await;
    assert_eq!(
        data["node"],
        json!({ "id": "ses_app02", "application": { "id": "app_second", "name": "Billing" } })
    );
    // Relations of relations, and an application session in another zone's lists never.
    let data = app
        .query(
            r#"{ session(id: "ses_great01") { ... on UserSession {
                   parent { parent { parent { id parent { id } } } }
                   root { children(first: 1) { nodes { ... on UserSession { id root { id } } } } }
                 } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["session"],
        json!({
            "parent": { "parent": { "parent": { "id": "ses_root01", "parent": null } } },
            "root": { "children": { "nodes": [{ "id": "ses_child02", "root": { "id": "ses_root01" } }] } }
        })
    );
}

async fn union_fragments_select_the_same_field_on_both_members(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let data = app
        .query(
            r#"{
              sessions(zoneId: "zone_demo", filter: { includeNested: true }, first: 100) {
                nodes {
                  __typename
                  ... on UserSession { id status active createdAt metadata { name } sessionData depth }
                  ... on ApplicationSession { id status active createdAt metadata { name } sessionData }
                }
              }
            }"#,
            json!({}),
        )
        .await;
    let nodes = data["sessions"]["nodes"].as_array().expect("nodes");
    let summary: Vec<(String, String, String)> = nodes
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_owned(),
                n["__typename"].as_str().unwrap().to_owned(),
                n["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("ses_other01", "UserSession", "ACTIVE"),
        ("ses_child02", "UserSession", "REVOKED"),
        ("ses_great01", "UserSession", "ACTIVE"),
        ("ses_grand01", "UserSession", "ACTIVE"),
        ("ses_child01", "UserSession", "EXPIRED"),
        ("ses_root01", "UserSession", "ACTIVE"),
        ("ses_app01", "ApplicationSession", "REVOKED"),
        ("ses_app02", "ApplicationSession", "ACTIVE"),
        ("ses_stored_exp", "UserSession", "EXPIRED"),
        ("ses_nulls", "UserSession", "ACTIVE"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(summary, expected);
    for node in nodes {
        assert_eq!(node["active"], node["status"] == "ACTIVE", "{node}");
        let is_user = node["__typename"] == "UserSession";
        assert_eq!(node.get("depth").is_some(), is_user, "{node}");
    }
    let app01 = nodes.iter().find(|n| n["id"] == "ses_app01").unwrap();
    assert_eq!(
        app01["sessionData"],
        json!({ "client_id": "team-dashboard", "scope": "sessions:read" })
    );
    assert_eq!(app01["createdAt"], "2026-03-03T11:00:00Z");
    let root = nodes.iter().find(|n| n["id"] == "ses_root01").unwrap();
    assert_eq!(root["metadata"], json!({ "name": "Acme CLI 2.4" }));

    // Through `edges` as well, with a named fragment on each member.
    let data = app
        .query(
            r#"
            fragment U on UserSession { id status }
            fragment A on ApplicationSession { id status }
            { sessions(zoneId: "zone_demo", filter: { status: [REVOKED] }) {
                edges { cursor node { __typename ...U ...A } } } }"#,
            json!({}),
        )
        .await;
    let edges = data["sessions"]["edges"].as_array().expect("edges");
    let nodes: Vec<&Value> = edges.iter().map(|e| &e["node"]).collect();
    assert_eq!(
        nodes,
        [
            &json!({ "__typename": "UserSession", "id": "ses_child02", "status": "REVOKED" }),
            &json!({ "__typename": "ApplicationSession", "id": "ses_app01", "status": "REVOKED" }),
        ]
    );
    assert!(
        edges
            .iter()
            .all(|e| e["cursor"].as_str().is_some_and(|c| !c.is_empty()))
    );
}

async fn sessions_list_entry_sessions_unless_include_nested(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let entries = [
        "ses_other01",
        "ses_child02",
        "ses_child01",
        "ses_root01",
        "ses_app01",
        "ses_app02",
        "ses_stored_exp",
        "ses_nulls",
    ];
    assert_eq!(
        listed(&app, "").await,
        (entries.map(String::from).to_vec(), 8)
    );
    assert_eq!(
        listed(&app, ", filter: { includeNested: false }").await,
        (entries.map(String::from).to_vec(), 8)
    );
    assert_eq!(listed(&app, ", filter: {}").await.0, entries);
    let all = [
        "ses_other01",
        "ses_child02",
        "ses_great01",
        "ses_grand01",
        "ses_child01",
        "ses_root01",
        "ses_app01",
        "ses_app02",
        "ses_stored_exp",
        "ses_nulls",
    ];
    assert_eq!(
        listed(&app, ", filter: { includeNested: true }").await,
        (all.map(String::from).to_vec(), 10)
    );
    // Default page size without `first`: all 8 fit in 20.
    let data = app
        .query(
            &with_ids(r#"{ sessions(zoneId: "zone_demo") { nodes { ...Ids } pageInfo { hasNextPage } } }"#),
            json!({}),
        )
        .await;
    assert_eq!(ids(&data["sessions"]), entries);
    assert_eq!(data["sessions"]["pageInfo"]["hasNextPage"], false);
    // Other zones are separate.
    let data = app
        .query(
            &with_ids(r#"{ sessions(zoneId: "zone_other") { totalCount nodes { ...Ids } } }"#),
            json!({}),
        )
        .await;
    assert_eq!(ids(&data["sessions"]), ["ses_z2"]);
    assert_eq!(data["sessions"]["totalCount"], 1);
}

async fn every_session_filter(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "type: USER",
            &[
                "ses_other01",
                "ses_child02",
                "ses_child01",
                "ses_root01",
                "ses_stored_exp",
                "ses_nulls",
            ],
        ),
        ("type: APPLICATION", &["ses_app01", "ses_app02"]),
        (
            "type: APPLICATION, includeNested: true",
            &["ses_app01", "ses_app02"],
        ),
        (
            "status: [ACTIVE]",
            &["ses_other01", "ses_root01", "ses_app02", "ses_nulls"],
        ),
        (
            "status: ACTIVE",
            &["ses_other01", "ses_root01", "ses_app02", "ses_nulls"],
        ),
        ("status: [EXPIRED]", &["ses_child01", "ses_stored_exp"]),
        ("status: [REVOKED]", &["ses_child02", "ses_app01"]),
        (
            "status: [EXPIRED, REVOKED]",
            &["ses_child02", "ses_child01", "ses_app01", "ses_stored_exp"],
        ),
        (
            "status: [REVOKED, EXPIRED, REVOKED]",
            &["ses_child02", "ses_child01", "ses_app01", "ses_stored_exp"],
        ),
        (
            "status: [ACTIVE, EXPIRED, REVOKED]",
            &[
                "ses_other01",
                "ses_child02",
                "ses_child01",
                "ses_root01",
                "ses_app01",
                "ses_app02",
                "ses_stored_exp",
                "ses_nulls",
            ],
        ),
        ("status: []", &[]),
        ("status: [], includeNested: true", &[]),
        (
            "status: [ACTIVE], includeNested: true",
            &[
                "ses_other01",
                "ses_great01",
                "ses_grand01",
                "ses_root01",
                "ses_app02",
                "ses_nulls",
            ],
        ),
        (
            "userId: \"usr_second\"",
            &["ses_other01", "ses_stored_exp", "ses_nulls"],
        ),
        (
            "userId: \"usr_81aa0e\"",
            &["ses_child02", "ses_child01", "ses_root01"],
        ),
        (
            "userId: \"usr_81aa0e\", includeNested: true",
            &[
                "ses_child02",
                "ses_great01",
                "ses_grand01",
                "ses_child01",
                "ses_root01",
            ],
        ),
        ("userId: \"nope\"", &[]),
        (
            "applicationId: \"app_2f9c1d\"",
            &["ses_child01", "ses_app01"],
        ),
        (
            "applicationId: \"app_2f9c1d\", includeNested: true",
            &["ses_grand01", "ses_child01", "ses_app01"],
        ),
        (
            "applicationId: \"app_second\"",
            &["ses_child02", "ses_app02"],
        ),
        ("userAgentId: \"ua_7d2c44\"", &["ses_root01"]),
        (
            "userAgentId: \"ua_7d2c44\", includeNested: true",
            &["ses_great01", "ses_grand01", "ses_root01"],
        ),
        ("userAgentId: \"ua_second\"", &["ses_other01"]),
        (
            "type: USER, status: [ACTIVE], userId: \"usr_81aa0e\", includeNested: true",
            &["ses_great01", "ses_grand01", "ses_root01"],
        ),
        (
            "type: APPLICATION, applicationId: \"app_second\", status: [ACTIVE]",
            &["ses_app02"],
        ),
        ("type: APPLICATION, userId: \"usr_81aa0e\"", &[]),
    ];
    for (filter, expected) in cases {
        let (got, total) = listed(&app, &format!(", filter: {{ {filter} }}")).await;
        assert_eq!(got, *expected, "filter {{ {filter} }}");
        assert_eq!(
            total,
            expected.len() as i64,
            "totalCount of filter {{ {filter} }}"
        );
    }
    // Filters arrive through variables the same way.
    let data = app
        .query(
            &with_ids(
                "query ($f: SessionFilter) { sessions(zoneId: \"zone_demo\", filter: $f) { totalCount nodes { ...Ids } } }",
            ),
            json!({ "f": { "status": [], "type": "USER" } }),
        )
        .await;
    assert_eq!(data["sessions"], json!({ "totalCount": 0, "nodes": [] }));
    let data = app
        .query(
            &with_ids(
                "query ($f: SessionFilter) { sessions(zoneId: \"zone_demo\", filter: $f) { totalCount nodes { ...Ids } } }",
            ),
            json!({ "f": { "status": ["EXPIRED"], "includeNested": true } }),
        )
        .await;
    assert_eq!(ids(&data["sessions"]), ["ses_child01", "ses_stored_exp"]);
}

async fn children_ignore_include_nested(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let query = with_ids(
        r#"query ($id: ID!, $f: SessionFilter) {
             session(id: $id) { ... on UserSession {
               children(filter: $f) { totalCount nodes { ...Ids } }
             } } }"#,
    );
    // ses_grand01's only child has depth 3: listed whatever includeNested says.
    for filter in [
        Value::Null,
        json!({}),
        json!({ "includeNested": false }),
        json!({ "includeNested": true }),
    ] {
        let data = app
            .query(&query, json!({ "id": "ses_grand01", "f": filter }))
            .await;
        let children = &data["session"]["children"];
        assert_eq!(ids(children), ["ses_great01"], "filter {filter}");
        assert_eq!(children["totalCount"], 1, "filter {filter}");
    }
    // The other conditions do apply to children.
    let cases = [
        (json!({ "status": ["REVOKED"] }), vec!["ses_child02"]),
        (json!({ "status": ["EXPIRED"] }), vec!["ses_child01"]),
        (json!({ "status": [] }), vec![]),
        (
            json!({ "applicationId": "app_2f9c1d" }),
            vec!["ses_child01"],
        ),
        (json!({ "type": "APPLICATION" }), vec![]),
    ];
    for (filter, expected) in cases {
        let data = app
            .query(&query, json!({ "id": "ses_root01", "f": filter }))
            .await;
        let children = &data["session"]["children"];
        assert_eq!(ids(children), expected, "filter {filter}");
        assert_eq!(children["totalCount"], expected.len(), "filter {filter}");
    }
    // A leaf has an empty connection.
    let data = app
        .query(&query, json!({ "id": "ses_great01", "f": null }))
        .await;
    assert_eq!(
        data["session"]["children"],
        json!({ "totalCount": 0, "nodes": [] })
    );
}

async fn sessions_of_users_applications_and_user_agents(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let query = with_ids(
        r#"query ($f: SessionFilter) {
             ada: user(id: "usr_81aa0e") { sessions(filter: $f) { totalCount nodes { ...Ids } } }
             grace: user(id: "usr_second") { sessions(filter: $f) { totalCount nodes { ...Ids } } }
             dash: application(id: "app_2f9c1d") { sessions(filter: $f) { totalCount nodes { ...Ids } } }
             billing: application(id: "app_second") { sessions(filter: $f) { totalCount nodes { ...Ids } } }
             cli: userAgent(id: "ua_7d2c44") { sessions(filter: $f) { totalCount nodes { ...Ids } } }
             firefox: userAgent(id: "ua_second") { sessions(filter: $f) { totalCount nodes { ...Ids } } }
           }"#,
    );
    let check = |data: &Value, expected: &[(&str, &[&str])]| {
        for (owner, list) in expected {
            let sessions = &data[*owner]["sessions"];
            assert_eq!(ids(sessions), *list, "{owner}");
            assert_eq!(sessions["totalCount"], list.len(), "{owner}");
        }
    };
    let data = app.query(&query, json!({ "f": null })).await;
    check(
        &data,
        &[
            ("ada", &["ses_child02", "ses_child01", "ses_root01"]),
            ("grace", &["ses_other01", "ses_stored_exp", "ses_nulls"]),
            ("dash", &["ses_child01", "ses_app01"]),
            ("billing", &["ses_child02", "ses_app02"]),
            ("cli", &["ses_root01"]),
            ("firefox", &["ses_other01"]),
        ],
    );
    let data = app
        .query(&query, json!({ "f": { "includeNested": true } }))
        .await;
    check(
        &data,
        &[
            (
                "ada",
                &[
                    "ses_child02",
                    "ses_great01",
                    "ses_grand01",
                    "ses_child01",
                    "ses_root01",
                ],
            ),
            ("grace", &["ses_other01", "ses_stored_exp", "ses_nulls"]),
            ("dash", &["ses_grand01", "ses_child01", "ses_app01"]),
            ("billing", &["ses_child02", "ses_app02"]),
            ("cli", &["ses_great01", "ses_grand01", "ses_root01"]),
            ("firefox", &["ses_other01"]),
        ],
    );
    let data = app
        .query(
            &query,
            json!({ "f": { "status": ["ACTIVE"], "includeNested": true } }),
        )
        .await;
    check(
        &data,
        &[
            ("ada", &["ses_great01", "ses_grand01", "ses_root01"]),
            ("grace", &["ses_other01", "ses_nulls"]),
            ("dash", &["ses_grand01"]),
            ("billing", &["ses_app02"]),
            ("cli", &["ses_great01", "ses_grand01", "ses_root01"]),
            ("firefox", &["ses_other01"]),
        ],
    );
    let data = app
        .query(&query, json!({ "f": { "type": "APPLICATION" } }))
        .await;
    check(
        &data,
        &[
            ("ada", &[]),
            ("grace", &[]),
            ("dash", &["ses_app01"]),
            ("billing", &["ses_app02"]),
            ("cli", &[]),
            ("firefox", &[]),
        ],
    );
    let data = app.query(&query, json!({ "f": { "status": [] } })).await;
    check(
        &data,
        &[
            ("ada", &[]),
            ("grace", &[]),
            ("dash", &[]),
            ("billing", &[]),
            ("cli", &[]),
            ("firefox", &[]),
        ],
    );
    // Owner lists nested in a root list, batched across owners.
    let data = app
        .query(
            &with_ids(
                r#"{ users(zoneId: "zone_demo") { nodes { id sessions(first: 2) {
                       totalCount pageInfo { hasNextPage } nodes { ...Ids } } } } }"#,
            ),
            json!({}),
        )
        .await;
    let users = data["users"]["nodes"].as_array().expect("users");
    assert_eq!(users[0]["id"], "usr_second");
    assert_eq!(
        ids(&users[0]["sessions"]),
        ["ses_other01", "ses_stored_exp"]
    );
    assert_eq!(users[0]["sessions"]["totalCount"], 3);
    assert_eq!(users[0]["sessions"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(users[1]["id"], "usr_81aa0e");
    assert_eq!(ids(&users[1]["sessions"]), ["ses_child02", "ses_child01"]);
    assert_eq!(users[1]["sessions"]["totalCount"], 3);
}

async fn effective_status_reads_expired_past_the_expiry(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    // ses_child01 is stored active with an expiry in the past.
    let data = app
        .query(
            r#"{ session(id: "ses_child01") { ... on UserSession { status active expiresAt } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["session"],
        json!({ "status": "EXPIRED", "active": false, "expiresAt": "2026-03-04T09:05:00Z" })
    );
    let (expired, _) = listed(&app, ", filter: { status: [EXPIRED] }").await;
    assert!(expired.contains(&"ses_child01".to_owned()), "{expired:?}");
    let (active, _) = listed(&app, ", filter: { status: [ACTIVE], includeNested: true }").await;
    assert!(!active.contains(&"ses_child01".to_owned()), "{active:?}");
    // Revoked wins over a past expiry; a revoked session is never active.
    let doc = json!({ "sessions": [
        user_session("ses_rev_past", "usr_81aa0e", Some("2026-03-06T00:00:00Z"),
                     json!({ "status": "revoked", "expires_at": "2020-01-01T00:00:00Z" })),
        user_session("ses_just_past", "usr_81aa0e", Some("2026-03-06T00:00:01Z"),
                     json!({ "expires_at": (chrono::Utc::now() - chrono::Duration::seconds(2)).to_rfc3339() })),
    ] });
    let output = import_json(&app.db, &doc).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let data = app
        .query(
            r#"{ a: session(id: "ses_rev_past") { ... on UserSession { status active } }
                 b: session(id: "ses_just_past") { ... on UserSession { status active } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "a": { "status": "REVOKED", "active": false },
            "b": { "status": "EXPIRED", "active": false }
        })
    );
    let (expired, total) = listed(&app, ", filter: { status: [EXPIRED] }").await;
    assert_eq!(expired, ["ses_just_past", "ses_child01", "ses_stored_exp"]);
    assert_eq!(total, 3);
    let (revoked, _) = listed(&app, ", filter: { status: [REVOKED] }").await;
    assert_eq!(revoked, ["ses_rev_past", "ses_child02", "ses_app01"]);
}

async fn every_ordering_puts_nulls_last_and_breaks_ties_by_id(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let cases: [(&str, &str, [&str; 6]); 6] = [
        (
            "CREATED_AT",
            "DESC",
            ["o_c", "o_b", "o_a", "o_B", "o_e", "o_d"],
        ),
        (
            "CREATED_AT",
            "ASC",
            ["o_B", "o_a", "o_b", "o_c", "o_d", "o_e"],
        ),
        (
            "EXPIRES_AT",
            "DESC",
            ["o_B", "o_a", "o_d", "o_b", "o_e", "o_c"],
        ),
        (
            "EXPIRES_AT",
            "ASC",
            ["o_b", "o_d", "o_a", "o_B", "o_c", "o_e"],
        ),
        (
            "AUTHENTICATED_AT",
            "DESC",
            ["o_B", "o_d", "o_a", "o_c", "o_e", "o_b"],
        ),
        (
            "AUTHENTICATED_AT",
            "ASC",
            ["o_c", "o_a", "o_d", "o_B", "o_b", "o_e"],
        ),
    ];
    let query = with_ids(
        r#"query ($order: SessionOrder, $first: Int, $last: Int) {
             sessions(zoneId: "zone_order", orderBy: $order, first: $first, last: $last) {
               totalCount nodes { ...Ids } }
             user(id: "usr_order") {
               sessions(orderBy: $order, first: $first, last: $last) { nodes { ...Ids } } }
           }"#,
    );
    for (field, direction, expected) in cases {
        let order = json!({ "field": field, "direction": direction });
        for (first, last) in [
            (json!(100), Value::Null),
            (Value::Null, json!(6)),
            (Value::Null, Value::Null),
        ] {
            let data = app
                .query(
                    &query,
                    json!({ "order": order, "first": first, "last": last }),
                )
                .await;
            assert_eq!(
                ids(&data["sessions"]),
                expected,
                "{field} {direction} first {first} last {last}"
            );
            assert_eq!(data["sessions"]["totalCount"], 6);
            assert_eq!(
                ids(&data["user"]["sessions"]),
                expected,
                "User.sessions {field} {direction} first {first} last {last}"
            );
        }
    }
    // Without orderBy: CREATED_AT DESC.
    let data = app.query(&query, json!({})).await;
    assert_eq!(
        ids(&data["sessions"]),
        ["o_c", "o_b", "o_a", "o_B", "o_e", "o_d"]
    );
    // Children are ordered the same way.
    let data = app
        .query(
            &with_ids(
                r#"{ session(id: "ses_root01") { ... on UserSession {
                       asc: children(orderBy: { field: CREATED_AT, direction: ASC }) { nodes { ...Ids } }
                       exp: children(orderBy: { field: EXPIRES_AT, direction: DESC }) { nodes { ...Ids } }
                     } } }"#,
            ),
            json!({}),
        )
        .await;
    assert_eq!(ids(&data["session"]["asc"]), ["ses_child01", "ses_child02"]);
    // ses_child02 expires in 2099, ses_child01 on 2026-03-04.
    assert_eq!(ids(&data["session"]["exp"]), ["ses_child02", "ses_child01"]);
}

async fn timestamps_print_utc_with_fractions_only_when_non_zero(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let data = app
        .query(
            r#"{
              child: session(id: "ses_child01") { ... on UserSession { createdAt expiresAt } }
              app: session(id: "ses_app01") { ... on ApplicationSession { createdAt updatedAt } }
              other: session(id: "ses_other01") { ... on UserSession { createdAt updatedAt authenticatedAt } }
              ob: session(id: "o_B") { ... on UserSession { authenticatedAt createdAt } }
              oa: session(id: "o_a") { ... on UserSession { createdAt } }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            // What src/timestamp.rs prints: milliseconds when they suffice.
            "child": { "createdAt": "2026-03-04T08:05:00.250Z", "expiresAt": "2026-03-04T09:05:00Z" },
            // "+01:00" is normalised to UTC.
            "app": { "createdAt": "2026-03-03T11:00:00Z", "updatedAt": "2026-03-03T12:30:00Z" },
            // Kept to the microsecond (nanoseconds dropped), printed in UTC.
            "other": {
                "createdAt": "2026-03-05T00:00:00.123456Z",
                "updatedAt": "2026-03-05T00:00:00.500Z",
                "authenticatedAt": "2026-03-04T23:02:03Z"
            },
            "ob": { "authenticatedAt": "2026-01-01T00:00:00.500Z", "createdAt": "2026-01-01T00:00:00Z" },
            "oa": { "createdAt": "2026-01-01T00:00:00Z" }
        })
    );
}

async fn total_count_counts_the_whole_filtered_list(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let query = with_ids(
        r#"query ($first: Int, $after: String, $f: SessionFilter) {
             sessions(zoneId: "zone_demo", first: $first, after: $after, filter: $f) {
               totalCount nodes { ...Ids } pageInfo { hasNextPage endCursor } } }"#,
    );
    let data = app.query(&query, json!({ "first": 2 })).await;
    assert_eq!(ids(&data["sessions"]), ["ses_other01", "ses_child02"]);
    assert_eq!(data["sessions"]["totalCount"], 8);
    assert_eq!(data["sessions"]["pageInfo"]["hasNextPage"], true);
    let after = data["sessions"]["pageInfo"]["endCursor"].clone();
    let data = app
        .query(&query, json!({ "first": 3, "after": after }))
        .await;
    assert_eq!(
        ids(&data["sessions"]),
        ["ses_child01", "ses_root01", "ses_app01"]
    );
    assert_eq!(data["sessions"]["totalCount"], 8);
    let data = app
        .query(
            &query,
            json!({ "first": 1, "f": { "includeNested": true, "type": "USER" } }),
        )
        .await;
    assert_eq!(ids(&data["sessions"]), ["ses_other01"]);
    assert_eq!(data["sessions"]["totalCount"], 8);
    let data = app
        .query(
            &query,
            json!({ "first": 1, "f": { "status": ["ACTIVE", "EXPIRED"] } }),
        )
        .await;
    assert_eq!(data["sessions"]["totalCount"], 6);
    // Counts of the other root lists and of nested lists.
    let data = app
        .query(
            r#"{
              applications(zoneId: "zone_demo", first: 1) { totalCount nodes { id } }
              users(zoneId: "zone_demo", first: 1) { totalCount nodes { id } }
              userAgents(zoneId: "zone_demo", first: 1) { totalCount nodes { id } }
              user(id: "usr_81aa0e") { sessions(first: 1, filter: { includeNested: true }) { totalCount } }
              session(id: "ses_root01") { ... on UserSession { children(first: 1) { totalCount } } }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "applications": { "totalCount": 2, "nodes": [{ "id": "app_second" }] },
            "users": { "totalCount": 2, "nodes": [{ "id": "usr_second" }] },
            "userAgents": { "totalCount": 2, "nodes": [{ "id": "ua_second" }] },
            "user": { "sessions": { "totalCount": 5 } },
            "session": { "children": { "totalCount": 2 } }
        })
    );
}

/// Response objects list their fields in query order (GraphQL spec §7.2.2),
/// however long each field takes to resolve, and a union member none of
/// whose fields were selected is an empty object, not null.
async fn responses_follow_the_query_order(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let query = r#"{ sessions(zoneId: "zone_demo", filter: { includeNested: true }) {
        totalCount
        nodes { ... on UserSession { user { email } id children { totalCount } status parent { id } } }
        pageInfo { hasNextPage }
    } }"#;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("POST /graphql");
    let text = response.text().await.expect("body");
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing from {text}"))
    };
    // Relation fields (loaded in batches) finish after plain ones, yet keep their place.
    assert!(
        position(r#""totalCount":3"#) < position(r#""nodes""#),
        "{text}"
    );
    assert!(position(r#""nodes""#) < position(r#""pageInfo""#), "{text}");
    assert!(position(r#""user""#) < position(r#""id""#), "{text}");
    assert!(position(r#""id""#) < position(r#""children""#), "{text}");
    assert!(
        position(r#""children""#) < position(r#""status""#),
        "{text}"
    );
    assert!(position(r#""status""#) < position(r#""parent""#), "{text}");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let nodes = body["data"]["sessions"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone();
    assert_eq!(nodes.len(), 3, "{text}");
    let application_session = nodes
        .iter()
        .find(|n| n.get("id").is_none())
        .expect("the application session");
    assert_eq!(application_session, &json!({}), "{text}");
}

crate::on_both_databases!(
    responses_follow_the_query_order,
    node_and_nodes_refetch_every_kind,
    session_lookup_gives_null_for_other_kinds,
    root_lists_of_applications_users_and_user_agents,
    session_fields_metadata_and_session_data,
    relations_of_sessions,
    union_fragments_select_the_same_field_on_both_members,
    sessions_list_entry_sessions_unless_include_nested,
    every_session_filter,
    children_ignore_include_nested,
    sessions_of_users_applications_and_user_agents,
    effective_status_reads_expired_past_the_expiry,
    every_ordering_puts_nulls_last_and_breaks_ties_by_id,
    timestamps_print_utc_with_fractions_only_when_non_zero,
    total_count_counts_the_whole_filtered_list,
);
