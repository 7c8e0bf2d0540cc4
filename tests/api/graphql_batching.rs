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
/// in its own statement; a user looked up with a page of their sessions
/// reads the page and its sessions' applications in the user's.
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
        statements, 1,
        "the user with the page and its applications: {data}"
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

/// A user looked up with a page of their sessions reads both in one
/// statement, and answers exactly as the user and the page read apart do
/// (a second `sessions` field under the user keeps them apart): forwards,
/// backwards, filtered, reordered, with relations, with cursors, for a
/// user without sessions and for no user.
async fn a_user_read_with_their_page_answers_as_read_apart(db: TestDb) {
    let options = SeedOptions {
        seed: 7,
        zones: 1,
        users: 12,
        applications: 4,
        user_agents: 3,
        sessions: 300,
    };
    let mut document = serde_json::to_value(seed::generate(&options)).expect("seed json");
    let users = document["users"].as_array_mut().expect("users");
    let mut lonely = users[0].clone();
    lonely["id"] = json!("usr_lonely");
    lonely["email"] = json!("lonely@example.com");
    users.push(lonely);
    let app = spawn_app_with(db, &document).await;
    let listed = app
        .query(
            r#"{ users(zoneId: "zone_001", first: 2) { nodes { id } } }"#,
            json!({}),
        )
        .await;
    let mut ids: Vec<String> = listed["users"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|node| node["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    ids.extend(["usr_lonely".to_owned(), "usr_missing".to_owned()]);

    let session = "... on UserSession { id status expiresAt }";
    let related = "... on UserSession { id user { email } application { name } userAgent { name } parent { id user { email } } }";
    let cases = [
        ("", format!("totalCount nodes {{ {session} }}")),
        (
            "(first: 2)",
            format!(
                "totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} edges {{ cursor node {{ {session} }} }}"
            ),
        ),
        (
            "(last: 3)",
            format!("totalCount pageInfo {{ hasPreviousPage }} nodes {{ {session} }}"),
        ),
        (
            "(first: 4, filter: { includeNested: true, status: [ACTIVE, REVOKED] })",
            format!("totalCount nodes {{ {session} }}"),
        ),
        (
            "(first: 5, orderBy: { field: EXPIRES_AT, direction: ASC })",
            format!("nodes {{ {session} }}"),
        ),
        (
            "(first: 6, filter: { includeNested: true })",
            format!("totalCount nodes {{ {related} }}"),
        ),
    ];
    for id in &ids {
        for (arguments, selection) in &cases {
            let together = format!(
                "query ($id: ID!) {{ user(id: $id) {{ id email sessions{arguments} {{ {selection} }} }} }}"
            );
            let apart = format!(
                "query ($id: ID!) {{ user(id: $id) {{ id email sessions{arguments} {{ {selection} }} other: sessions(first: 1) {{ totalCount }} }} }}"
            );
            let (statements, read_together) =
                statements_for(&app, &together, json!({ "id": id })).await;
            let read_apart = app.query(&apart, json!({ "id": id })).await;
            assert_eq!(statements, 1, "{id} {arguments}: {read_together}");
            assert_eq!(read_together["user"]["id"], read_apart["user"]["id"]);
            assert_eq!(read_together["user"]["email"], read_apart["user"]["email"]);
            assert_eq!(
                read_together["user"]["sessions"], read_apart["user"]["sessions"],
                "{id} {arguments} {selection}"
            );
            if id == "usr_missing" {
                assert_eq!(read_together["user"], json!(null));
            }
            if id == "usr_lonely" {
                let sessions = &read_together["user"]["sessions"];
                let listed = if sessions["nodes"].is_null() {
                    &sessions["edges"]
                } else {
                    &sessions["nodes"]
                };
                assert_eq!(listed, &json!([]), "{read_together}");
            }
        }
    }

    // After a cursor the count is the whole list's, read on its own.
    let first_page = app
        .query(
            r#"query ($id: ID!) { user(id: $id) { sessions(first: 1) { pageInfo { endCursor } } } }"#,
            json!({ "id": ids[0] }),
        )
        .await;
    let cursor = first_page["user"]["sessions"]["pageInfo"]["endCursor"].clone();
    assert!(cursor.is_string(), "{first_page}");
    let next = format!(
        "query ($id: ID!, $after: String) {{ user(id: $id) {{ sessions(first: 2, after: $after) {{ totalCount nodes {{ {session} }} }} }} }}"
    );
    let apart = format!(
        "query ($id: ID!, $after: String) {{ user(id: $id) {{ sessions(first: 2, after: $after) {{ totalCount nodes {{ {session} }} }} other: sessions {{ totalCount }} }} }}"
    );
    let variables = json!({ "id": ids[0], "after": cursor });
    let (statements, read_together) = statements_for(&app, &next, variables.clone()).await;
    let read_apart = app.query(&apart, variables).await;
    assert_eq!(
        statements, 2,
        "the user with the page, then the count: {read_together}"
    );
    assert_eq!(
        read_together["user"]["sessions"],
        read_apart["user"]["sessions"]
    );
}

crate::on_both_databases!(
    nested_query_statements_do_not_grow_with_rows,
    selected_relations_are_read_with_their_sessions,
    a_user_read_with_their_page_answers_as_read_apart,
    relations_are_only_loaded_when_selected,
    loaders_do_not_leak_across_requests,
    child_counts_agree_with_and_without_cursors,
);
