//! Lazy, batched relations: the number of SQL statements depends on the
//! depth of the query, never on the number of rows in it.

use serde_json::json;
use sessiongraph::seed::{self, SeedOptions};

use crate::helpers::*;

const NESTED: &str = r#"query ($first: Int) {
  sessions(zoneId: "zone_001", first: $first, filter: { includeNested: true }) {
    nodes {
      ... on UserSession {
        id status
        user { email } application { name } userAgent { name } parent { id status }
        children(first: 10) { totalCount nodes { ... on UserSession { id status user { email } } } }
      }
      ... on ApplicationSession { id status application { name } }
    }
  }
}"#;

/// Statements the server runs for one request.
async fn statements_for(
    app: &TestApp,
    query: &str,
    variables: serde_json::Value,
) -> (u64, serde_json::Value) {
    let before = app.metrics.sql_statements.get();
    let data = app.query(query, variables).await;
    (app.metrics.sql_statements.get() - before, data)
}

async fn nested_query_statements_do_not_grow_with_rows(db: TestDb) {
    let options = SeedOptions {
        seed: 11,
        zones: 1,
        users: 40,
        applications: 6,
        user_agents: 5,
        sessions: 600,
    };
    let document = serde_json::to_value(seed::generate(&options)).expect("seed json");
    let app = spawn_app_with(db, &document).await;

    let (small, data_small) = statements_for(&app, NESTED, json!({ "first": 5 })).await;
    let (large, data_large) = statements_for(&app, NESTED, json!({ "first": 50 })).await;
    assert_eq!(
        data_small["sessions"]["nodes"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(
        data_large["sessions"]["nodes"].as_array().map(Vec::len),
        Some(50)
    );
    // The larger page really reaches deeper data: some child lists are non-empty.
    let children_seen: i64 = data_large["sessions"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["children"]["totalCount"].as_i64())
        .sum();
    assert!(
        children_seen > 0,
        "the fixture should give some sessions children"
    );
    // The page, with its sessions' users, applications, user agents and
    // parents joined in; then the children's pages with their counts and
    // their users joined in: two statements whatever the page size.
    for (first, statements) in [(5, small), (50, large)] {
        assert_eq!(
            statements, 2,
            "statements for the nested query with first: {first}"
        );
    }
}

/// A lookup reads the to-one relations it selects, down a parent chain,
/// in its own statement; a user's page reads its sessions' applications
/// in the page's.
async fn selected_relations_are_read_with_their_sessions(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let (statements, data) = statements_for(
        &app,
        r#"{ session(id: "ses_child01") { ... on UserSession {
             id user { email } application { name } userAgent { name }
             parent { id user { email } parent { id } } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(statements, 1, "one statement for the lookup: {data}");
    assert_eq!(
        data["session"],
        json!({
            "id": "ses_child01",
            "user": { "email": "ada@example.com" },
            "application": { "name": "Team Dashboard" },
            "userAgent": null,
            "parent": { "id": "ses_root01", "user": { "email": "ada@example.com" }, "parent": null }
        })
    );

    let (statements, data) = statements_for(
        &app,
        r#"{ user(id: "usr_81aa0e") { id sessions(first: 20) {
             totalCount nodes { ... on UserSession { id application { name } } } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        statements, 2,
        "the user, then the page with its applications: {data}"
    );
    assert_eq!(data["user"]["sessions"]["totalCount"], 2);
    let applications: Vec<&serde_json::Value> = data["user"]["sessions"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|node| &node["application"])
        .collect();
    assert!(
        applications.contains(&&json!({ "name": "Team Dashboard" })),
        "{data}"
    );
}

/// `totalCount` of a per-owner list counts the whole list, whether it comes
/// from the page's own statement (no cursor) or a separate count (cursor).
async fn child_counts_agree_with_and_without_cursors(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let first_page = app
        .query(
            r#"{ session(id: "ses_root01") { ... on UserSession {
                 children(first: 1) { totalCount pageInfo { endCursor hasNextPage } nodes { ... on UserSession { id } } } } } }"#,
            json!({}),
        )
        .await;
    let children = &first_page["session"]["children"];
    let total = children["totalCount"].as_i64().expect("totalCount");
    assert!(total >= 1, "the fixture's root has children: {children}");
    let cursor = children["pageInfo"]["endCursor"].clone();
    let rest = app
        .query(
            r#"query ($after: String) { session(id: "ses_root01") { ... on UserSession {
                 children(first: 1, after: $after) { totalCount nodes { ... on UserSession { id } } } } } }"#,
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(rest["session"]["children"]["totalCount"], total);
    let count_only = app
        .query(
            r#"{ session(id: "ses_root01") { ... on UserSession { children { totalCount } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(count_only["session"]["children"]["totalCount"], total);
}

async fn relations_are_only_loaded_when_selected(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let (flat, _) = statements_for(
        &app,
        r#"{ sessions(zoneId: "zone_demo") { nodes { __typename } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(flat, 1, "a flat page is one statement");
    let (with_count, data) = statements_for(
        &app,
        r#"{ sessions(zoneId: "zone_demo") { totalCount nodes { __typename } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        with_count, 2,
        "totalCount adds one statement, and only when selected"
    );
    assert_eq!(data["sessions"]["totalCount"], 3);
}

async fn loaders_do_not_leak_across_requests(db: TestDb) {
    let app = spawn_app_with(db, &example_document()).await;
    let query = r#"{ session(id: "ses_root01") { ... on UserSession { user { email } } } }"#;
    let first = app.query(query, json!({})).await;
    assert_eq!(first["session"]["user"]["email"], "ada@example.com");
    // Change the user behind the server's back: the next request sees it.
    let mut document = example_document();
    document["users"][0]["email"] = json!("ada.lovelace@example.com");
    let output = import_json(&app.db, &json!({ "users": document["users"] })).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let second = app.query(query, json!({})).await;
    assert_eq!(
        second["session"]["user"]["email"],
        "ada.lovelace@example.com"
    );
}

crate::on_both_databases!(
    nested_query_statements_do_not_grow_with_rows,
    selected_relations_are_read_with_their_sessions,
    relations_are_only_loaded_when_selected,
    loaders_do_not_leak_across_requests,
    child_counts_agree_with_and_without_cursors,
);
