//! `updateSession` (revoking subtrees) and `deleteSession` (deleting
//! subtrees) over HTTP, checked against what is read back afterwards.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

const FAR: &str = "2099-01-01T00:00:00Z";
const STORED_UPDATE: &str = "2026-01-02T00:00:00Z";

const REVOKE: &str = r#"
mutation ($id: ID!, $status: SessionStatus!) {
  updateSession(id: $id, input: { status: $status }) {
    revokedCount
    session {
      __typename
      ... on UserSession { id status active updatedAt }
      ... on ApplicationSession { id status active updatedAt }
    }
  }
}"#;

const DELETE: &str = r#"
mutation ($id: ID!) {
  deleteSession(id: $id) { deletedSessionId deletedCount }
}"#;

/// Every session of the fixture.
const ALL: [&str; 11] = [
    "m_root", "m_a", "m_a1", "m_b", "m_b1", "m_c", "m_c1", "m_c2", "m_other", "m_other1", "m_app",
];

fn session(id: &str, parent: Option<&str>, minute: u32, extra: Value) -> Value {
    let mut record = json!({
        "session_type": "user", "id": id, "zone_id": "zone_mut", "organization_id": "org_mut",
        "user_id": "usr_m", "parent_id": parent, "status": "active",
        "created_at": format!("2026-01-01T00:{minute:02}:00Z"),
        "updated_at": STORED_UPDATE, "expires_at": FAR
    });
    for (key, value) in extra.as_object().expect("object") {
        record[key] = value.clone();
    }
    record
}

/// ```text
/// m_root ─┬─ m_a ── m_a1
///         ├─ m_b (revoked) ── m_b1
///         └─ m_c (stored active, expired in 2020) ── m_c1 ── m_c2
/// m_other ── m_other1
/// m_app (an application session)
/// ```
fn document() -> Value {
    json!({
        "applications": [{
            "id": "app_m", "zone_id": "zone_mut", "organization_id": "org_mut",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "dependencies_count": 0, "identifier": "mut", "name": "Mut", "owner_type": "customer", "slug": "mut"
        }],
        "users": [{
            "id": "usr_m", "zone_id": "zone_mut", "organization_id": "org_mut",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "email": "m@example.com", "email_verified": true
        }],
        "sessions": [
            session("m_root", None, 0, json!({})),
            session("m_a", Some("m_root"), 1, json!({})),
            session("m_a1", Some("m_a"), 2, json!({})),
            session("m_b", Some("m_root"), 3, json!({ "status": "revoked", "updated_at": "2026-01-05T00:00:00Z" })),
            session("m_b1", Some("m_b"), 4, json!({})),
            session("m_c", Some("m_root"), 5, json!({ "expires_at": "2020-01-01T00:00:00Z", "updated_at": "2026-01-06T00:00:00Z" })),
            session("m_c1", Some("m_c"), 6, json!({})),
            session("m_c2", Some("m_c1"), 7, json!({})),
            session("m_other", None, 10, json!({})),
            session("m_other1", Some("m_other"), 11, json!({})),
            {
                "session_type": "application", "id": "m_app", "zone_id": "zone_mut",
                "application_id": "app_m", "status": "active",
                "created_at": "2026-01-01T00:20:00Z", "updated_at": STORED_UPDATE, "expires_at": FAR
            },
        ],
    })
}

/// `(status, updatedAt)` of each id, `None` for ids that no longer exist.
async fn states(app: &TestApp, ids: &[&str]) -> Vec<Option<(String, String)>> {
    let data = app
        .query(
            r#"query ($ids: [ID!]!) { nodes(ids: $ids) {
                 ... on UserSession { status updatedAt }
                 ... on ApplicationSession { status updatedAt } } }"#,
            json!({ "ids": ids }),
        )
        .await;
    data["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| {
            (!node.is_null()).then(|| {
                (
                    node["status"].as_str().expect("status").to_owned(),
                    node["updatedAt"].as_str().expect("updatedAt").to_owned(),
                )
            })
        })
        .collect()
}

async fn state(app: &TestApp, id: &str) -> Option<(String, String)> {
    states(app, &[id]).await.remove(0)
}

fn parse(at: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(at)
        .unwrap_or_else(|e| panic!("{at:?}: {e}"))
        .with_timezone(&Utc)
}

/// Asserts `at` lies within the interval, give or take a second of clock skew.
/// Timestamps are kept to the microsecond, so at most six fraction digits print.
fn assert_between(text: &str, from: DateTime<Utc>, to: DateTime<Utc>) {
    let fraction = text
        .split_once('.')
        .map(|(_, rest)| rest.trim_end_matches('Z').len())
        .unwrap_or(0);
    assert!(
        text.ends_with('Z') && fraction <= 6,
        "{text:?} is not UTC to the microsecond"
    );
    let at = parse(text);
    assert!(
        at >= from - Duration::seconds(1) && at <= to + Duration::seconds(1),
        "{at} not within {from}..{to}"
    );
}

async fn revoke(app: &TestApp, id: &str) -> Value {
    app.query(REVOKE, json!({ "id": id, "status": "REVOKED" }))
        .await["updateSession"]
        .clone()
}

/// The ids listed by `sessions` with `filter`, all depths.
async fn listed(app: &TestApp, filter: Value) -> (Vec<String>, i64) {
    let mut filter = filter;
    filter["includeNested"] = json!(true);
    let data = app
        .query(
            r#"query ($f: SessionFilter) { sessions(zoneId: "zone_mut", filter: $f, first: 100) {
                 totalCount nodes { ... on UserSession { id } ... on ApplicationSession { id } } } }"#,
            json!({ "f": filter }),
        )
        .await;
    let ids = data["sessions"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect();
    (
        ids,
        data["sessions"]["totalCount"].as_i64().expect("totalCount"),
    )
}

async fn revoking_a_root_revokes_its_active_descendants(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let started = Utc::now();
    let payload = revoke(&app, "m_root").await;
    let finished = Utc::now();
    // m_root, m_a, m_a1, m_b1, m_c1, m_c2: not m_b (revoked) nor m_c (expired).
    assert_eq!(payload["revokedCount"], 6, "{payload}");
    let session = &payload["session"];
    assert_eq!(session["__typename"], "UserSession");
    assert_eq!(session["id"], "m_root");
    assert_eq!(session["status"], "REVOKED");
    assert_eq!(session["active"], false);
    assert_between(
        session["updatedAt"].as_str().expect("updatedAt"),
        started,
        finished,
    );
    let revoked_at = session["updatedAt"].as_str().unwrap().to_owned();

    let after = states(&app, &ALL).await;
    for (id, state) in ALL.iter().zip(&after) {
        let (status, updated_at) = state.as_ref().unwrap_or_else(|| panic!("{id} is gone"));
        match *id {
            "m_root" | "m_a" | "m_a1" | "m_b1" | "m_c1" | "m_c2" => {
                assert_eq!(status, "REVOKED", "{id}");
                assert_between(updated_at, started, finished);
            }
            "m_b" => assert_eq!(
                (status.as_str(), updated_at.as_str()),
                ("REVOKED", "2026-01-05T00:00:00Z")
            ),
            "m_c" => assert_eq!(
                (status.as_str(), updated_at.as_str()),
                ("EXPIRED", "2026-01-06T00:00:00Z")
            ),
            _ => assert_eq!(
                (status.as_str(), updated_at.as_str()),
                ("ACTIVE", STORED_UPDATE),
                "{id}"
            ),
        }
    }
    // The lists agree.
    let (active, total) = listed(&app, json!({ "status": ["ACTIVE"] })).await;
    assert_eq!(active, ["m_app", "m_other1", "m_other"]);
    assert_eq!(total, 3);
    let (revoked, total) = listed(&app, json!({ "status": ["REVOKED"] })).await;
    assert_eq!(
        revoked,
        ["m_c2", "m_c1", "m_b1", "m_b", "m_a1", "m_a", "m_root"]
    );
    assert_eq!(total, 7);

    // Revoking again changes nothing and succeeds.
    let payload = revoke(&app, "m_root").await;
    assert_eq!(payload["revokedCount"], 0);
    assert_eq!(payload["session"]["status"], "REVOKED");
    assert_eq!(payload["session"]["updatedAt"], revoked_at.as_str());
    assert_eq!(states(&app, &ALL).await, after);
    let payload = revoke(&app, "m_a1").await;
    assert_eq!(payload["revokedCount"], 0);
    assert_eq!(states(&app, &ALL).await, after);
}

async fn revoking_an_expired_or_revoked_session_revokes_only_active_descendants(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let before = states(&app, &ALL).await;
    let started = Utc::now();
    let payload = revoke(&app, "m_c").await;
    let finished = Utc::now();
    assert_eq!(payload["revokedCount"], 2, "{payload}");
    assert_eq!(payload["session"]["id"], "m_c");
    assert_eq!(payload["session"]["status"], "EXPIRED");
    assert_eq!(payload["session"]["active"], false);
    assert_eq!(payload["session"]["updatedAt"], "2026-01-06T00:00:00Z");
    let after = states(&app, &ALL).await;
    for ((id, old), new) in ALL.iter().zip(&before).zip(&after) {
        let (status, updated_at) = new.as_ref().expect("still there");
        if ["m_c1", "m_c2"].contains(id) {
            assert_eq!(status, "REVOKED", "{id}");
            assert_between(updated_at, started, finished);
        } else {
            assert_eq!(new, old, "{id} changed");
        }
    }
    assert_eq!(state(&app, "m_root").await.unwrap().0, "ACTIVE");

    // A revoked session: only its active child changes.
    let payload = revoke(&app, "m_b").await;
    assert_eq!(payload["revokedCount"], 1);
    assert_eq!(payload["session"]["status"], "REVOKED");
    assert_eq!(payload["session"]["updatedAt"], "2026-01-05T00:00:00Z");
    assert_eq!(state(&app, "m_b1").await.unwrap().0, "REVOKED");
    assert_eq!(state(&app, "m_root").await.unwrap().0, "ACTIVE");
    assert_eq!(state(&app, "m_a").await.unwrap().0, "ACTIVE");

    // A leaf: just itself, its parent untouched.
    let payload = revoke(&app, "m_a1").await;
    assert_eq!(payload["revokedCount"], 1);
    assert_eq!(payload["session"]["status"], "REVOKED");
    assert_eq!(
        state(&app, "m_a").await,
        Some(("ACTIVE".to_owned(), STORED_UPDATE.to_owned()))
    );

    // An application session.
    let payload = revoke(&app, "m_app").await;
    assert_eq!(payload["revokedCount"], 1);
    assert_eq!(payload["session"]["__typename"], "ApplicationSession");
    assert_eq!(payload["session"]["id"], "m_app");
    assert_eq!(payload["session"]["status"], "REVOKED");

    // What is left active.
    let (active, _) = listed(&app, json!({ "status": ["ACTIVE"] })).await;
    assert_eq!(active, ["m_other1", "m_other", "m_a", "m_root"]);
}

async fn update_session_refuses_other_statuses_and_unknown_ids(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let before = states(&app, &ALL).await;
    for status in ["ACTIVE", "EXPIRED"] {
        for id in ["m_root", "m_b", "m_c"] {
            let (_, body) = app
                .post_graphql(REVOKE, json!({ "id": id, "status": status }))
                .await;
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{status} {id}: {body}"
            );
            assert_eq!(body["data"], Value::Null);
        }
    }
    // Unknown ids, and ids of other kinds, are not found; the status is checked first.
    for id in ["nope", "usr_m", "app_m"] {
        let (_, body) = app
            .post_graphql(REVOKE, json!({ "id": id, "status": "REVOKED" }))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{id}: {body}"
        );
        assert_eq!(body["data"], Value::Null);
        let message = body["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains(id), "{message}");
    }
    assert_eq!(
        app.error_code(REVOKE, json!({ "id": "nope", "status": "ACTIVE" }))
            .await,
        "BAD_USER_INPUT"
    );
    // A status that is no SessionStatus at all is a validation error.
    assert_eq!(
        app.error_code(
            r#"mutation { updateSession(id: "m_root", input: { status: CANCELLED }) { revokedCount } }"#,
            json!({}),
        )
        .await,
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert_eq!(
        states(&app, &ALL).await,
        before,
        "a refused update changed something"
    );
}

async fn deleting_a_session_deletes_its_subtree(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let children = r#"query ($id: ID!) { session(id: $id) { ... on UserSession {
        children { totalCount nodes { ... on UserSession { id } } } } } }"#;
    let data = app.query(children, json!({ "id": "m_root" })).await;
    assert_eq!(data["session"]["children"]["totalCount"], 3);
    let before = states(&app, &ALL).await;

    let data = app.query(DELETE, json!({ "id": "m_c" })).await;
    assert_eq!(
        data["deleteSession"],
        json!({ "deletedSessionId": "m_c", "deletedCount": 3 })
    );
    let data = app
        .query(
            r#"{ nodes(ids: ["m_c", "m_c1", "m_c2"]) { id }
                 a: node(id: "m_c") { id } b: node(id: "m_c2") { id } c: session(id: "m_c1") { __typename } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "nodes": [null, null, null], "a": null, "b": null, "c": null })
    );
    let data = app.query(children, json!({ "id": "m_root" })).await;
    assert_eq!(
        data["session"]["children"],
        json!({ "totalCount": 2, "nodes": [{ "id": "m_b" }, { "id": "m_a" }] })
    );
    // Siblings and everything else are untouched.
    let after = states(&app, &ALL).await;
    for ((id, old), new) in ALL.iter().zip(&before).zip(&after) {
        if ["m_c", "m_c1", "m_c2"].contains(id) {
            assert_eq!(new, &None, "{id}");
        } else {
            assert_eq!(new, old, "{id}");
        }
    }
    let (all, total) = listed(&app, json!({})).await;
    assert_eq!(
        all,
        [
            "m_app", "m_other1", "m_other", "m_b1", "m_b", "m_a1", "m_a", "m_root"
        ]
    );
    assert_eq!(total, 8);

    // The root takes the rest of its tree with it, but not its user or application.
    let data = app.query(DELETE, json!({ "id": "m_root" })).await;
    assert_eq!(
        data["deleteSession"],
        json!({ "deletedSessionId": "m_root", "deletedCount": 5 })
    );
    let (all, total) = listed(&app, json!({})).await;
    assert_eq!(all, ["m_app", "m_other1", "m_other"]);
    assert_eq!(total, 3);
    let data = app
        .query(
            r#"{ user(id: "usr_m") { id sessions(filter: { includeNested: true }) { totalCount } }
                 application(id: "app_m") { id sessions { totalCount } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "user": { "id": "usr_m", "sessions": { "totalCount": 2 } },
            "application": { "id": "app_m", "sessions": { "totalCount": 1 } }
        })
    );

    // A leaf, and an application session.
    let data = app.query(DELETE, json!({ "id": "m_other1" })).await;
    assert_eq!(
        data["deleteSession"],
        json!({ "deletedSessionId": "m_other1", "deletedCount": 1 })
    );
    let data = app.query(children, json!({ "id": "m_other" })).await;
    assert_eq!(
        data["session"]["children"],
        json!({ "totalCount": 0, "nodes": [] })
    );
    let data = app.query(DELETE, json!({ "id": "m_app" })).await;
    assert_eq!(
        data["deleteSession"],
        json!({ "deletedSessionId": "m_app", "deletedCount": 1 })
    );
    let (all, _) = listed(&app, json!({})).await;
    assert_eq!(all, ["m_other"]);
}

async fn delete_session_of_an_unknown_id_is_not_found(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let before = states(&app, &ALL).await;
    for id in ["nope", "usr_m", "app_m", ""] {
        let (_, body) = app.post_graphql(DELETE, json!({ "id": id })).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{id:?}: {body}"
        );
        assert_eq!(body["data"], Value::Null);
    }
    assert_eq!(states(&app, &ALL).await, before);
    // Deleting twice: the second time the session is gone.
    let data = app.query(DELETE, json!({ "id": "m_a" })).await;
    assert_eq!(data["deleteSession"]["deletedCount"], 2);
    assert_eq!(
        app.error_code(DELETE, json!({ "id": "m_a" })).await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(DELETE, json!({ "id": "m_a1" })).await,
        "NOT_FOUND"
    );
    // ...and neither can it be revoked.
    assert_eq!(
        app.error_code(REVOKE, json!({ "id": "m_a", "status": "REVOKED" }))
            .await,
        "NOT_FOUND"
    );
}

const REVOKE_LISTING: &str = r#"
mutation ($id: ID!) {
  updateSession(id: $id, input: { status: REVOKED }) {
    revokedCount
    session { ... on IdentitySession { id updatedAt } }
    revokedSessions {
      __typename
      ... on IdentitySession { id status updatedAt }
      ... on UserSession { depth }
    }
  }
}"#;

/// `(id, status, updatedAt)` of each of the payload's `revokedSessions`.
fn revoked_sessions(payload: &Value) -> Vec<(String, String, String)> {
    payload["revokedSessions"]
        .as_array()
        .unwrap_or_else(|| panic!("revokedSessions: {payload}"))
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id").to_owned(),
                s["status"].as_str().expect("status").to_owned(),
                s["updatedAt"].as_str().expect("updatedAt").to_owned(),
            )
        })
        .collect()
}

async fn revoked_sessions_are_the_changed_ones_in_tree_order(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let started = Utc::now();
    let payload =
        app.query(REVOKE_LISTING, json!({ "id": "m_root" })).await["updateSession"].clone();
    let finished = Utc::now();
    let listed = revoked_sessions(&payload);
    // The root, then depth 1 (m_b was revoked and m_c expired already, so
    // neither changed), then depth 2 by id, then depth 3.
    let ids: Vec<&str> = listed.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["m_root", "m_a", "m_a1", "m_b1", "m_c1", "m_c2"],
        "{payload}"
    );
    assert_eq!(payload["revokedCount"], listed.len());
    let revoked_at = payload["session"]["updatedAt"].as_str().expect("updatedAt");
    for (id, status, updated_at) in &listed {
        assert_eq!(status, "REVOKED", "{id}");
        // As they read after the revoke, all stamped by the one write.
        assert_eq!(updated_at, revoked_at, "{id}");
        assert_between(updated_at, started, finished);
    }
    let depths: Vec<i64> = payload["revokedSessions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["depth"].as_i64().expect("depth"))
        .collect();
    assert_eq!(depths, [0, 1, 2, 2, 2, 3]);
    // They read the same afterwards.
    let ids_now: Vec<&str> = ids.clone();
    for state in states(&app, &ids_now).await {
        let (status, updated_at) = state.expect("still there");
        assert_eq!(
            (status.as_str(), updated_at.as_str()),
            ("REVOKED", revoked_at)
        );
    }

    // Nothing changes the second time: nothing listed.
    let again = app.query(REVOKE_LISTING, json!({ "id": "m_root" })).await["updateSession"].clone();
    assert_eq!(again["revokedCount"], 0);
    assert_eq!(again["revokedSessions"], json!([]));
}

async fn revoked_sessions_leave_out_the_unchanged_session_itself(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    // m_c is expired: only its still-active descendants change.
    let payload = app.query(REVOKE_LISTING, json!({ "id": "m_c" })).await["updateSession"].clone();
    let ids: Vec<String> = revoked_sessions(&payload)
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(ids, ["m_c1", "m_c2"], "{payload}");
    assert_eq!(payload["revokedCount"], 2);
    // An application session is listed as one.
    let payload =
        app.query(REVOKE_LISTING, json!({ "id": "m_app" })).await["updateSession"].clone();
    assert_eq!(
        payload["revokedSessions"][0]["__typename"],
        "ApplicationSession"
    );
    assert_eq!(payload["revokedSessions"][0]["id"], "m_app");
    assert_eq!(payload["revokedSessions"][0]["status"], "REVOKED");
    assert_eq!(payload["revokedSessions"].as_array().map(Vec::len), Some(1));
}

async fn deleted_session_ids_are_every_removed_id(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let listing = r#"mutation ($id: ID!) {
        deleteSession(id: $id) { deletedSessionId deletedCount deletedSessionIds } }"#;
    let data = app.query(listing, json!({ "id": "m_c" })).await;
    assert_eq!(
        data["deleteSession"],
        json!({ "deletedSessionId": "m_c", "deletedCount": 3, "deletedSessionIds": ["m_c", "m_c1", "m_c2"] })
    );
    // Revoked and active alike; root first, then by depth, then by id.
    let data = app.query(listing, json!({ "id": "m_root" })).await;
    assert_eq!(
        data["deleteSession"],
        json!({
            "deletedSessionId": "m_root", "deletedCount": 5,
            "deletedSessionIds": ["m_root", "m_a", "m_b", "m_a1", "m_b1"]
        })
    );
    let data = app.query(listing, json!({ "id": "m_app" })).await;
    assert_eq!(data["deleteSession"]["deletedSessionIds"], json!(["m_app"]));
    let gone = states(
        &app,
        &["m_root", "m_a", "m_b", "m_a1", "m_b1", "m_c", "m_app"],
    )
    .await;
    assert!(gone.iter().all(Option::is_none), "{gone:?}");
}

async fn identity_session_fragments_answer_on_both_kinds(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let data = app
        .query(
            r#"query {
                 sessions(zoneId: "zone_mut", filter: { includeNested: true }, first: 3) {
                   nodes { __typename ... on IdentitySession { id status application { name } } }
                 }
                 app: node(id: "m_app") { ...Common }
                 user: node(id: "m_c") { ...Common ... on UserSession { parentId } }
                 one: session(id: "m_b") { ... on IdentitySession { id status } }
               }
               fragment Common on IdentitySession { id status active zoneId applicationId createdAt expiresAt }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["sessions"]["nodes"],
        json!([
            { "__typename": "ApplicationSession", "id": "m_app", "status": "ACTIVE", "application": { "name": "Mut" } },
            { "__typename": "UserSession", "id": "m_other1", "status": "ACTIVE", "application": null },
            { "__typename": "UserSession", "id": "m_other", "status": "ACTIVE", "application": null },
        ])
    );
    assert_eq!(
        data["app"],
        json!({
            "id": "m_app", "status": "ACTIVE", "active": true, "zoneId": "zone_mut", "applicationId": "app_m",
            "createdAt": "2026-01-01T00:20:00Z", "expiresAt": FAR
        })
    );
    assert_eq!(
        data["user"],
        json!({
            "id": "m_c", "status": "EXPIRED", "active": false, "zoneId": "zone_mut", "applicationId": null,
            "createdAt": "2026-01-01T00:05:00Z", "expiresAt": "2020-01-01T00:00:00Z", "parentId": "m_root"
        })
    );
    assert_eq!(data["one"], json!({ "id": "m_b", "status": "REVOKED" }));
}

crate::on_both_databases!(
    revoking_a_root_revokes_its_active_descendants,
    revoking_an_expired_or_revoked_session_revokes_only_active_descendants,
    update_session_refuses_other_statuses_and_unknown_ids,
    deleting_a_session_deletes_its_subtree,
    delete_session_of_an_unknown_id_is_not_found,
    revoked_sessions_are_the_changed_ones_in_tree_order,
    revoked_sessions_leave_out_the_unchanged_session_itself,
    deleted_session_ids_are_every_removed_id,
    identity_session_fragments_answer_on_both_kinds,
);
