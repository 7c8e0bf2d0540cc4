//! Valid documents answered exactly as the GraphQL spec (and graphql-js,
//! its reference implementation) answers them. Each test pins one class of
//! difference the engine had (vendor/async-graphql/PATCHES.md says where
//! each was fixed); tests/conformance/ compares whole generated documents.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_databases;

async fn app(db: TestDb) -> TestApp {
    spawn_app_with(db, &example_document()).await
}

/// The whole response body of a request that must run.
async fn answer(app: &TestApp, query: &str, variables: Value) -> Value {
    let (status, body) = app.post_graphql(query, variables).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The `path` of every error of a response.
fn error_paths(body: &Value) -> Vec<Value> {
    body["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["path"].clone()).collect())
        .unwrap_or_default()
}

on_both_databases!(
    fragments_on_the_session_union_apply_wherever_the_object_belongs_to_it,
    an_omitted_directive_variable_takes_its_default,
    a_variable_used_only_by_a_directive_on_typename_is_used,
    the_same_alias_on_distinct_object_types_merges,
    a_field_selected_twice_is_null_when_one_copy_fails,
    an_error_keeps_the_path_of_the_field_that_raised_it,
    a_nullable_field_that_fails_is_null_and_its_siblings_stay,
    introspection_lists_only_the_types_the_schema_uses,
    a_document_that_never_ran_has_no_data_entry,
    directives_on_typename_stand_at_a_field_location,
    introspection_answers_as_graphql_js_does,
    nesting_within_the_documented_limits_is_accepted,
    a_mutation_selected_twice_runs_once,
    thousands_of_repeats_of_one_field_validate,
    a_remembered_document_still_checks_its_variables,
);

async fn fragments_on_the_session_union_apply_wherever_the_object_belongs_to_it(db: TestDb) {
    let app = app(db).await;
    // Inside the `Node` interface.
    let data = app
        .query(
            r#"{ node(id: "ses_root01") { ... on Session { __typename } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data, json!({ "node": { "__typename": "UserSession" } }));
    // A named fragment on the union, spread inside `node`.
    let data = app
        .query(
            r#"{ node(id: "ses_app01") { ...S } } fragment S on Session { __typename }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "node": { "__typename": "ApplicationSession" } })
    );
    // Inside an object-typed field, nested in another fragment.
    let data = app
        .query(
            r#"{ session(id: "ses_child01") { ... on UserSession {
                 parent { ... on Session { ... on UserSession { id } __typename } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "session": { "parent": { "id": "ses_root01", "__typename": "UserSession" } } })
    );
    // An object outside the union: the fragment does not apply.
    let data = app
        .query(
            r#"{ node(id: "usr_81aa0e") { ... on Session { __typename } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data, json!({ "node": {} }));
}

async fn an_omitted_directive_variable_takes_its_default(db: TestDb) {
    let app = app(db).await;
    let query = r#"query Q($v: Boolean = true) { node(id: "ses_root01") { id @skip(if: $v) } }"#;
    assert_eq!(app.query(query, json!({})).await, json!({ "node": {} }));
    assert_eq!(
        app.query(query, json!({ "v": false })).await,
        json!({ "node": { "id": "ses_root01" } })
    );
    let query = r#"query Q($v: Boolean = false) { node(id: "ses_root01") { ... @include(if: $v) { id } __typename } }"#;
    assert_eq!(
        app.query(query, json!({})).await,
        json!({ "node": { "__typename": "UserSession" } })
    );
}

async fn a_variable_used_only_by_a_directive_on_typename_is_used(db: TestDb) {
    let app = app(db).await;
    let data = app
        .query(
            r#"query Q($v: Boolean = false) { application(id: "x") { __typename @skip(if: $v) } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data, json!({ "application": null }));
    let data = app
        .query(
            r#"query Q($v: Boolean!) { user(id: "usr_81aa0e") { t: __typename @include(if: $v) } }"#,
            json!({ "v": true }),
        )
        .await;
    assert_eq!(data, json!({ "user": { "t": "User" } }));
}

async fn the_same_alias_on_distinct_object_types_merges(db: TestDb) {
    let app = app(db).await;
    let data = app
        .query(
            r#"{ node(id: "usr_81aa0e") {
                 ... on User { ... { x0: subject } }
                 ... on UserSession { ... { x0: issuer } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data, json!({ "node": { "x0": "00u1ada" } }));
    // Conflicts the spec does refuse still are: different shapes on
    // distinct types, and different fields under one response name of
    // merged parents.
    for refused in [
        r#"{ node(id: "x") { ... on User { x0: email } ... on UserSession { x0: issuer } } }"#,
        r#"{ a: user(id: "u") { x: email } a: user(id: "u") { x: id } }"#,
        r#"{ node(id: "x") { ... on User { ... { a: email } } ... on User { a: id } } }"#,
    ] {
        assert_eq!(
            app.error_code(refused, json!({})).await,
            "GRAPHQL_VALIDATION_FAILED",
            "{refused}"
        );
    }
}

async fn a_field_selected_twice_is_null_when_one_copy_fails(db: TestDb) {
    let app = app(db).await;
    let body = answer(
        &app,
        r#"{ user(id: "usr_81aa0e") { __typename }
             user(id: "usr_81aa0e") { sessions(first: -1) { __typename } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(body["data"], json!({ "user": null }), "{body}");
    assert_eq!(error_paths(&body), vec![json!(["user", "sessions"])]);
    // Both copies failing is still one failure of one field.
    let body = answer(
        &app,
        r#"{ user(id: "usr_81aa0e") { sessions(first: -1) { totalCount } }
             user(id: "usr_81aa0e") { sessions(first: -1) { __typename } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(body["data"], json!({ "user": null }), "{body}");
    assert_eq!(error_paths(&body), vec![json!(["user", "sessions"])]);
}

async fn an_error_keeps_the_path_of_the_field_that_raised_it(db: TestDb) {
    let app = app(db).await;
    let body = answer(
        &app,
        r#"{ users(zoneId: "zone_demo") { edges { node { sessions(first: 101) { __typename } } } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(
        error_paths(&body),
        vec![json!(["users", "edges", 0, "node", "sessions"])]
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

/// Breaks reading users, and only users, in the middle of a request:
/// on PostgreSQL the statement kills its own connection (the failure a
/// restart or failover gives), on SQLite the table is gone.
async fn break_user_reads(db: &TestDb) -> &'static str {
    let conn = db.connect().await;
    use sea_orm::ConnectionTrait;
    match db.backend {
        Backend::Postgres | Backend::PgBouncer => {
            for statement in [
                "ALTER TABLE users RENAME TO users_stored",
                "CREATE FUNCTION drop_my_connection() RETURNS boolean LANGUAGE plpgsql AS \
                 $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN true; END $$",
                "CREATE VIEW users AS SELECT * FROM users_stored WHERE drop_my_connection()",
            ] {
                conn.execute_unprepared(statement).await.expect(statement);
            }
            "SERVICE_UNAVAILABLE"
        }
        Backend::Sqlite => {
            conn.execute_unprepared("ALTER TABLE users RENAME TO users_stored")
                .await
                .expect("rename users");
            "INTERNAL_SERVER_ERROR"
        }
    }
}

async fn a_nullable_field_that_fails_is_null_and_its_siblings_stay(db: TestDb) {
    let app = app(db).await;
    let expected_code = break_user_reads(&app.db).await;
    let body = answer(
        &app,
        r#"{ sessions(zoneId: "zone_demo", filter: { includeNested: true }) {
             nodes { __typename ... on UserSession { id user { email } } } } }"#,
        json!({}),
    )
    .await;
    let nodes = body["data"]["sessions"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("the page must survive a failed relation: {body}"));
    let mut expected_paths = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        if node["__typename"] == "UserSession" {
            assert!(node["id"].is_string(), "{body}");
            assert_eq!(node["user"], Value::Null, "{body}");
            expected_paths.push(json!(["sessions", "nodes", index, "user"]));
        }
    }
    assert_eq!(expected_paths.len(), 2, "{body}");
    let mut paths = error_paths(&body);
    paths.sort_by_key(|path| path.to_string());
    assert_eq!(paths, expected_paths, "{body}");
    for error in body["errors"].as_array().into_iter().flatten() {
        assert_eq!(error["extensions"]["code"], expected_code, "{body}");
    }
}

async fn introspection_lists_only_the_types_the_schema_uses(db: TestDb) {
    let app = app(db).await;
    let data = app
        .query(
            r#"{ float: __type(name: "Float") { name } int: __type(name: "Int") { name }
                 __schema { types { name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["float"],
        Value::Null,
        "Float is in no field of the schema"
    );
    assert_eq!(data["int"], json!({ "name": "Int" }));
    let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql");
    let words: std::collections::HashSet<&str> = sdl
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    for ty in data["__schema"]["types"].as_array().expect("types") {
        let name = ty["name"].as_str().expect("name");
        assert!(
            name.starts_with("__") || ["String", "Boolean"].contains(&name) || words.contains(name),
            "{name} is served but not in schema.graphql"
        );
    }
}

async fn a_document_that_never_ran_has_no_data_entry(db: TestDb) {
    let app = app(db).await;
    for (query, code) in [
        ("{ sessions(", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query A { __typename } query B { __typename }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        let (status, body) = app.post_graphql(query, json!({})).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.get("data").is_none(), "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], code, "{query}");
    }
    // A document that ran and failed at a non-null root field keeps `data: null`.
    let (status, body) = app
        .post_graphql(
            r#"{ sessions(zoneId: "zone_demo", first: -1) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.get("data"), Some(&Value::Null), "{body}");
}

async fn directives_on_typename_stand_at_a_field_location(db: TestDb) {
    let app = app(db).await;
    assert_eq!(
        app.query("{ __typename @include(if: true) }", json!({}))
            .await,
        json!({ "__typename": "Query" })
    );
    let data = app
        .query(
            r#"{ node(id: "ses_app01") { ...F } } fragment F on Session { __typename @skip(if: true) t: __typename }"#,
            json!({}),
        )
        .await;
    assert_eq!(data, json!({ "node": { "t": "ApplicationSession" } }));
    // A directive that may not stand on a field is still refused there.
    assert_eq!(
        app.error_code("query Q @include(if: true) { __typename }", json!({}))
            .await,
        "GRAPHQL_VALIDATION_FAILED"
    );
}

async fn introspection_answers_as_graphql_js_does(db: TestDb) {
    let app = app(db).await;
    let data = app
        .query(
            r#"{ __schema { description }
                 node: __type(name: "Node") { interfaces { name } }
                 union: __type(name: "Session") { interfaces { name } }
                 date: __type(name: "DateTime") { specifiedByURL } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "__schema": { "description": null },
            "node": { "interfaces": [] },
            "union": { "interfaces": null },
            "date": { "specifiedByURL": "https://datatracker.ietf.org/doc/html/rfc3339" }
        })
    );
}

async fn nesting_within_the_documented_limits_is_accepted(db: TestDb) {
    let app = app(db).await;
    // Fragments nest no field: 40 levels of them are depth 2.
    let query = format!(
        r#"{{ node(id: "ses_root01") {{ {} __typename {} }} }}"#,
        "... { ".repeat(40),
        "} ".repeat(40)
    );
    assert_eq!(
        app.query(&query, json!({})).await,
        json!({ "node": { "__typename": "UserSession" } })
    );
}

async fn a_mutation_selected_twice_runs_once(db: TestDb) {
    let app = app(db).await;
    // One response key is one field (CollectFields): the delete runs once,
    // with both sub-selections, instead of twice with the second failing.
    let body = answer(
        &app,
        r#"mutation { d: deleteSession(id: "ses_child01") { deletedCount }
                      ... on Mutation { d: deleteSession(id: "ses_child01") { deletedSessionId } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        body,
        json!({ "data": { "d": { "deletedCount": 1, "deletedSessionId": "ses_child01" } } })
    );
}

async fn thousands_of_repeats_of_one_field_validate(db: TestDb) {
    let app = app(db).await;
    // 5,000 identical composite fields under one response name: compared
    // once, not 12.5 million times.
    let query = format!(
        r#"{{ session(id: "ses_child01") {{ ... on UserSession {{ {} }} }} }}"#,
        "user { id } ".repeat(5000)
    );
    assert_eq!(
        app.query(&query, json!({})).await,
        json!({ "session": { "user": { "id": "usr_81aa0e" } } })
    );
}

/// The messages and codes of a response's errors (their request ids differ).
fn error_messages(body: &Value) -> Vec<(Value, Value)> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| (e["message"].clone(), e["extensions"]["code"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

async fn a_remembered_document_still_checks_its_variables(db: TestDb) {
    let app = app(db).await;
    // Once a document's text has passed validation, later requests with it
    // run only the rule that reads variables (vendor/async-graphql,
    // `DocumentValidation`): a bad variable must fail exactly as it did
    // before the document was remembered, and a good one must run.
    let query = r#"query Children($first: Int) { session(id: "ses_root01") {
        ... on UserSession { children(first: $first) { totalCount } } } }"#;
    let (_, fresh) = app.post_graphql(query, json!({ "first": "two" })).await;
    let fresh_errors = error_messages(&fresh);
    assert!(!fresh_errors.is_empty(), "{fresh}");
    for _ in 0..2 {
        let data = app.query(query, json!({ "first": 1 })).await;
        assert!(
            data["session"]["children"]["totalCount"].is_number(),
            "{data}"
        );
    }
    let (_, remembered) = app.post_graphql(query, json!({ "first": "two" })).await;
    assert_eq!(error_messages(&remembered), fresh_errors, "{remembered}");
    assert!(
        remembered.get("data").is_none_or(Value::is_null),
        "{remembered}"
    );

    // A document that failed validation is validated in full every time.
    let invalid = r#"{ session(id: "ses_root01") { __typename nonsense } }"#;
    let (_, first) = app.post_graphql(invalid, json!({})).await;
    let (_, again) = app.post_graphql(invalid, json!({})).await;
    assert!(!error_messages(&first).is_empty(), "{first}");
    assert_eq!(error_messages(&again), error_messages(&first), "{again}");
}
