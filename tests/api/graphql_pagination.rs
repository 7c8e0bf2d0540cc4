//! Relay cursor pagination over HTTP: whole walks forwards and backwards in
//! every order, cursor stability under inserts, nested connections, and the
//! argument errors.

use std::cmp::Reverse;
use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

const IDS: &str = "
fragment Ids on Session {
  __typename
  ... on UserSession { id }
  ... on ApplicationSession { id }
}";

const SIZE: usize = 45;

fn with_ids(query: &str) -> String {
    format!("{query}\n{IDS}")
}

fn ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {connection}"))
        .iter()
        .map(|node| node["id"].as_str().expect("node id").to_owned())
        .collect()
}

fn at(base: &str, offset: Duration) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(base)
        .expect("base")
        .with_timezone(&Utc)
        + offset
}

fn rfc3339(at: Option<DateTime<Utc>>) -> Value {
    at.map(|at| Value::String(at.to_rfc3339()))
        .unwrap_or(Value::Null)
}

/// One fixture session of `zone_page` and its three order keys.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    created: Option<DateTime<Utc>>,
    expires: Option<DateTime<Utc>>,
    authenticated: Option<DateTime<Utc>>,
    revoked: bool,
}

impl Row {
    fn key(&self, field: &str) -> Option<DateTime<Utc>> {
        match field {
            "CREATED_AT" => self.created,
            "EXPIRES_AT" => self.expires,
            "AUTHENTICATED_AT" => self.authenticated,
            other => panic!("no field {other}"),
        }
    }

    fn json(&self) -> Value {
        json!({
            "session_type": "user", "id": self.id, "zone_id": "zone_page", "user_id": "usr_p",
            "status": if self.revoked { "revoked" } else { "active" },
            "created_at": rfc3339(self.created),
            "expires_at": rfc3339(self.expires),
            "authenticated_at": rfc3339(self.authenticated),
        })
    }
}

/// 45 sessions: created_at values shared by up to three sessions, five
/// without created_at; ids in mixed case so that byte order differs from
/// a case-insensitive collation ("p_A00" < "p_a01" < "p_A02" would be a
/// locale's order, bytes give p_A* before p_a*).
fn rows() -> Vec<Row> {
    (0..SIZE as i64)
        .map(|i| Row {
            id: format!("p_{}{i:02}", if i % 2 == 0 { "A" } else { "a" }),
            created: (i % 9 != 8)
                .then(|| at("2026-01-01T00:00:00Z", Duration::minutes((i * 7) % 15))),
            expires: (i % 5 != 0).then(|| at("2099-01-01T00:00:00Z", Duration::days(i % 4))),
            authenticated: (i % 4 != 3).then(|| {
                at(
                    "2026-01-01T00:00:00Z",
                    Duration::hours(i % 6) + Duration::microseconds(i % 2),
                )
            }),
            revoked: i % 6 == 1,
        })
        .collect()
}

/// The ids in list order: key in `direction`, ties by id in the same
/// direction, null keys last.
fn sorted_ids(rows: &[Row], field: &str, direction: &str) -> Vec<String> {
    let mut rows: Vec<&Row> = rows.iter().collect();
    match direction {
        "DESC" => rows.sort_by_key(|r| {
            (
                r.key(field).is_none(),
                Reverse(r.key(field)),
                Reverse(r.id.clone()),
            )
        }),
        "ASC" => rows.sort_by_key(|r| (r.key(field).is_none(), r.key(field), r.id.clone())),
        other => panic!("no direction {other}"),
    }
    rows.into_iter().map(|r| r.id.clone()).collect()
}

fn user(id: &str, zone: &str, created_at: &str) -> Value {
    json!({
        "id": id, "zone_id": zone, "organization_id": "org_page",
        "created_at": created_at, "updated_at": created_at,
        "email": format!("{id}@example.com"), "email_verified": true
    })
}

fn application(id: &str, created_at: &str) -> Value {
    json!({
        "id": id, "zone_id": "zone_page", "organization_id": "org_page",
        "created_at": created_at, "updated_at": created_at, "dependencies_count": 0,
        "identifier": id, "name": id, "owner_type": "customer", "slug": id.replace('_', "-")
    })
}

fn tree_session(id: &str, user: &str, parent: Option<&str>, created_at: &str) -> Value {
    json!({
        "session_type": "user", "id": id, "zone_id": "zone_tree", "user_id": user,
        "parent_id": parent, "created_at": created_at, "expires_at": "2099-01-01T00:00:00Z"
    })
}

/// `zone_page`: the 45 sessions, five users and three applications with tied
/// creation times. `zone_tree`: a root with five children (two tied) and a
/// grandchild, and a second user with three sessions.
fn document() -> Value {
    let sessions: Vec<Value> = rows()
        .iter()
        .map(Row::json)
        .chain([
            tree_session("t_root", "usr_t", None, "2026-02-01T00:00:00Z"),
            tree_session("t_c1", "usr_t", Some("t_root"), "2026-02-01T00:01:00Z"),
            tree_session("t_c2", "usr_t", Some("t_root"), "2026-02-01T00:02:00Z"),
            tree_session("t_c3", "usr_t", Some("t_root"), "2026-02-01T00:03:00Z"),
            tree_session("t_c4", "usr_t", Some("t_root"), "2026-02-01T00:03:00Z"),
            tree_session("t_c5", "usr_t", Some("t_root"), "2026-02-01T00:05:00Z"),
            tree_session("t_g1", "usr_t", Some("t_c1"), "2026-02-01T00:10:00Z"),
            tree_session("u_1", "usr_u", None, "2026-02-01T03:00:00Z"),
            tree_session("u_2", "usr_u", None, "2026-02-01T02:00:00Z"),
            tree_session("u_3", "usr_u", None, "2026-02-01T01:00:00Z"),
        ])
        .collect();
    json!({
        "applications": [
            application("app_x", "2026-01-01T00:00:00Z"),
            application("app_y", "2026-01-01T00:00:00Z"),
            application("app_z", "2026-01-02T00:00:00Z"),
        ],
        "users": [
            user("usr_p", "zone_page", "2026-01-01T00:00:00Z"),
            user("usr_p2", "zone_page", "2026-01-02T00:00:00Z"),
            user("usr_p3", "zone_page", "2026-01-02T00:00:00Z"),
            user("usr_p4", "zone_page", "2026-01-03T00:00:00Z"),
            user("usr_p5", "zone_page", "2026-01-01T00:00:00Z"),
            user("usr_t", "zone_tree", "2026-01-01T00:00:00Z"),
            user("usr_u", "zone_tree", "2026-01-02T00:00:00Z"),
        ],
        "sessions": sessions,
    })
}

/// One page of `zone_page`'s sessions.
#[derive(Debug)]
struct Page {
    ids: Vec<String>,
    cursors: Vec<String>,
    has_next: bool,
    has_previous: bool,
    start: Value,
    end: Value,
    total: i64,
}

const PAGE_QUERY: &str = r#"
query ($zone: ID!, $first: Int, $after: String, $last: Int, $before: String,
       $order: SessionOrder, $f: SessionFilter) {
  sessions(zoneId: $zone, first: $first, after: $after, last: $last, before: $before,
           orderBy: $order, filter: $f) {
    totalCount
    edges { cursor node { ...Ids } }
    nodes { ...Ids }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

async fn page(app: &TestApp, mut variables: Value) -> Page {
    if variables.get("zone").is_none() {
        variables["zone"] = json!("zone_page");
    }
    let data = app.query(&with_ids(PAGE_QUERY), variables).await;
    let connection = &data["sessions"];
    let edges = connection["edges"].as_array().expect("edges");
    let page = Page {
        ids: edges
            .iter()
            .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
            .collect(),
        cursors: edges
            .iter()
            .map(|e| e["cursor"].as_str().expect("cursor").to_owned())
            .collect(),
        has_next: connection["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage"),
        has_previous: connection["pageInfo"]["hasPreviousPage"]
            .as_bool()
            .expect("hasPreviousPage"),
        start: connection["pageInfo"]["startCursor"].clone(),
        end: connection["pageInfo"]["endCursor"].clone(),
        total: connection["totalCount"].as_i64().expect("totalCount"),
    };
    // `nodes` and `edges` agree; the page's cursors are its first and last edges'.
    assert_eq!(ids(connection), page.ids);
    assert_eq!(
        page.start,
        page.cursors
            .first()
            .map(|c| json!(c))
            .unwrap_or(Value::Null)
    );
    assert_eq!(
        page.end,
        page.cursors.last().map(|c| json!(c)).unwrap_or(Value::Null)
    );
    page
}

/// Walks the whole list forwards, `size` at a time, checking pageInfo.
async fn walk_forward(
    app: &TestApp,
    order: &Value,
    filter: &Value,
    size: usize,
    total: usize,
) -> Vec<String> {
    let mut all = Vec::new();
    let mut after = Value::Null;
    for round in 0.. {
        assert!(round <= total, "the walk does not end");
        let page = page(
            app,
            json!({ "first": size, "after": after, "order": order, "f": filter }),
        )
        .await;
        assert_eq!(page.total, total as i64);
        assert_eq!(
            page.has_previous,
            round > 0,
            "hasPreviousPage of page {round}"
        );
        all.extend(page.ids.iter().cloned());
        if !page.has_next {
            assert!(page.ids.len() <= size);
            break;
        }
        assert_eq!(page.ids.len(), size, "a page before the last is full");
        after = page.end;
    }
    all
}

/// Walks the whole list backwards from its end, `size` at a time.
async fn walk_backward(
    app: &TestApp,
    order: &Value,
    filter: &Value,
    size: usize,
    total: usize,
) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    let mut before = Value::Null;
    for round in 0.. {
        assert!(round <= total, "the walk does not end");
        let page = page(
            app,
            json!({ "last": size, "before": before, "order": order, "f": filter }),
        )
        .await;
        assert_eq!(page.total, total as i64);
        assert_eq!(page.has_next, round > 0, "hasNextPage of page {round}");
        let mut ids = page.ids.clone();
        ids.extend(all);
        all = ids;
        if !page.has_previous {
            assert!(page.ids.len() <= size);
            break;
        }
        assert_eq!(page.ids.len(), size, "a page before the first is full");
        before = page.start;
    }
    all
}

fn assert_no_duplicates(ids: &[String]) {
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates in {ids:?}");
}

async fn forward_pages_cover_the_list_exactly(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let expected = sorted_ids(&rows(), "CREATED_AT", "DESC");
    // One big page is the same list.
    let big = page(&app, json!({ "first": 100 })).await;
    assert_eq!(big.ids, expected);
    assert!(!big.has_next && !big.has_previous);
    assert_eq!(big.total, SIZE as i64);
    for size in [1, 7, 15, 45] {
        let walked = walk_forward(&app, &Value::Null, &Value::Null, size, SIZE).await;
        assert_no_duplicates(&walked);
        assert_eq!(walked, expected, "pages of {size}");
    }
    // A cursor points exactly after its row: first: n after the k-th cursor
    // gives rows k+1..k+n.
    for k in [0, 4, 20, 38, 39, 40, 43] {
        let after = &big.cursors[k];
        let next = page(&app, json!({ "first": 3, "after": after })).await;
        let want: Vec<String> = expected[k + 1..(k + 4).min(SIZE)].to_vec();
        assert_eq!(next.ids, want, "after row {k}");
        assert_eq!(next.has_next, k + 4 < SIZE);
        assert!(next.has_previous);
    }
    // The last cursor has nothing after it.
    let tail = page(&app, json!({ "first": 5, "after": big.cursors[SIZE - 1] })).await;
    assert!(tail.ids.is_empty());
    assert!(!tail.has_next);
    assert_eq!(tail.start, Value::Null);
    assert_eq!(tail.total, SIZE as i64);
}

async fn backward_pages_cover_the_list_exactly(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let expected = sorted_ids(&rows(), "CREATED_AT", "DESC");
    let whole = page(&app, json!({ "last": 100 })).await;
    assert_eq!(whole.ids, expected);
    assert!(!whole.has_next && !whole.has_previous);
    for size in [1, 6, 15, 45] {
        let walked = walk_backward(&app, &Value::Null, &Value::Null, size, SIZE).await;
        assert_no_duplicates(&walked);
        assert_eq!(walked, expected, "pages of {size}");
    }
    // last: n before the k-th cursor gives rows k-n..k.
    for k in [1, 5, 20, 40, 41, 44] {
        let before = &whole.cursors[k];
        let previous = page(&app, json!({ "last": 3, "before": before })).await;
        let want: Vec<String> = expected[k.saturating_sub(3)..k].to_vec();
        assert_eq!(previous.ids, want, "before row {k}");
        assert_eq!(previous.has_previous, k > 3);
        assert!(previous.has_next);
    }
    let head = page(&app, json!({ "last": 5, "before": whole.cursors[0] })).await;
    assert!(head.ids.is_empty());
    assert!(!head.has_previous);
    // after and before together bound a window.
    let window = page(
        &app,
        json!({ "first": 100, "after": whole.cursors[9], "before": whole.cursors[15] }),
    )
    .await;
    assert_eq!(window.ids, expected[10..15].to_vec());
    let window = page(
        &app,
        json!({ "last": 2, "after": whole.cursors[9], "before": whole.cursors[15] }),
    )
    .await;
    assert_eq!(window.ids, expected[13..15].to_vec());
}

async fn every_ordering_pages_both_ways(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let rows = rows();
    for field in ["CREATED_AT", "EXPIRES_AT", "AUTHENTICATED_AT"] {
        for direction in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": direction });
            let expected = sorted_ids(&rows, field, direction);
            let big = page(&app, json!({ "first": 100, "order": order })).await;
            assert_eq!(big.ids, expected, "{field} {direction}");
            let forward = walk_forward(&app, &order, &Value::Null, 4, SIZE).await;
            assert_eq!(forward, expected, "forward {field} {direction}");
            let backward = walk_backward(&app, &order, &Value::Null, 4, SIZE).await;
            assert_eq!(backward, expected, "backward {field} {direction}");
            // With a filter the walk covers exactly the filtered list.
            let revoked: Vec<String> = {
                let kept: Vec<Row> = rows.iter().filter(|r| r.revoked).cloned().collect();
                sorted_ids(&kept, field, direction)
            };
            let filter = json!({ "status": ["REVOKED"] });
            let forward = walk_forward(&app, &order, &filter, 2, revoked.len()).await;
            assert_eq!(forward, revoked, "revoked forward {field} {direction}");
            let backward = walk_backward(&app, &order, &filter, 3, revoked.len()).await;
            assert_eq!(backward, revoked, "revoked backward {field} {direction}");
        }
    }
}

async fn default_page_sizes(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let expected = sorted_ids(&rows(), "CREATED_AT", "DESC");
    let whole = page(&app, json!({ "first": 100 })).await;
    // Neither count: the first 20.
    let first = page(&app, json!({})).await;
    assert_eq!(first.ids, expected[..20].to_vec());
    assert!(first.has_next);
    assert!(!first.has_previous);
    // Only `after`: the 20 after it.
    let next = page(&app, json!({ "after": whole.cursors[4] })).await;
    assert_eq!(next.ids, expected[5..25].to_vec());
    assert!(next.has_next);
    // Only `before`: the 20 before it.
    let previous = page(&app, json!({ "before": whole.cursors[30] })).await;
    assert_eq!(previous.ids, expected[10..30].to_vec());
    assert!(previous.has_previous);
    assert!(previous.has_next);
    // Only `last`: the last 20.
    let last = page(&app, json!({ "last": null })).await;
    assert_eq!(last.ids, expected[..20].to_vec());
    let last = page(&app, json!({ "last": 20 })).await;
    assert_eq!(last.ids, expected[25..].to_vec());
    assert!(last.has_previous);
    assert!(!last.has_next);
    // The maximum is accepted.
    let max = page(&app, json!({ "last": 100 })).await;
    assert_eq!(max.ids.len(), SIZE);
}

async fn cursors_stay_exact_while_rows_are_inserted_before_them(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let original = sorted_ids(&rows(), "CREATED_AT", "DESC");
    // Walk half the list.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for _ in 0..4 {
        let page = page(&app, json!({ "first": 5, "after": after })).await;
        seen.extend(page.ids.iter().cloned());
        after = page.end;
    }
    assert_eq!(seen, original[..20].to_vec());
    let cursor_row = rows()
        .into_iter()
        .find(|r| r.id == original[19])
        .expect("cursor row");
    let cursor_key = cursor_row.created.expect("the 20th row has created_at");

    // Insert rows on both sides of the cursor, some with its very key.
    let new_row = |id: &str, created: Option<DateTime<Utc>>| Row {
        id: id.to_owned(),
        created,
        expires: None,
        authenticated: None,
        revoked: false,
    };
    let inserted = [
        // Before the cursor (newer, or the same key with a greater id).
        new_row(
            "n_newest",
            Some(at("2030-01-01T00:00:00Z", Duration::zero())),
        ),
        new_row(&format!("{}z", cursor_row.id), Some(cursor_key)),
        new_row(
            "n_top_tie",
            Some(at("2026-01-01T00:00:00Z", Duration::minutes(14))),
        ),
        // After the cursor (the same key with a smaller id, older, or no key).
        new_row(&cursor_row.id[..cursor_row.id.len() - 1], Some(cursor_key)),
        new_row(
            "n_oldest",
            Some(at("2000-01-01T00:00:00Z", Duration::zero())),
        ),
        new_row("p_zzz", None),
        new_row("p_0", None),
    ];
    let document = json!({ "sessions": inserted.iter().map(Row::json).collect::<Vec<_>>() });
    let output = import_json(&app.db, &document).await;
    assert!(
        output.status.success(),
        "import failed: {}",
        stderr(&output)
    );

    let mut all_rows = rows();
    all_rows.extend(inserted.iter().cloned());
    let now_sorted = sorted_ids(&all_rows, "CREATED_AT", "DESC");
    let position = now_sorted
        .iter()
        .position(|id| *id == original[19])
        .expect("cursor row still listed");
    assert_eq!(position, 22, "three rows were inserted before the cursor");

    // Continue from the old cursor.
    let mut rest = Vec::new();
    for round in 0.. {
        assert!(round < 50, "the walk does not end");
        let page = page(&app, json!({ "first": 5, "after": after })).await;
        assert_eq!(page.total, (SIZE + inserted.len()) as i64);
        rest.extend(page.ids.iter().cloned());
        if !page.has_next {
            break;
        }
        after = page.end;
    }
    assert_eq!(rest, now_sorted[position + 1..].to_vec());
    // Every original row exactly once, none skipped.
    let mut walked = seen.clone();
    walked.extend(rest.iter().cloned());
    assert_no_duplicates(&walked);
    let originals: Vec<&String> = walked.iter().filter(|id| original.contains(id)).collect();
    assert_eq!(originals, original.iter().collect::<Vec<_>>());
    // The rows inserted after the cursor were reached, those before it were not.
    for id in [
        &inserted[3].id,
        &inserted[4].id,
        &inserted[5].id,
        &inserted[6].id,
    ] {
        assert!(rest.contains(id), "{id} missing from {rest:?}");
    }
    for id in [&inserted[0].id, &inserted[1].id, &inserted[2].id] {
        assert!(!walked.contains(id), "{id} appeared after the cursor");
    }
    // Backwards from the same cursor sees the inserted rows before it.
    let cursor_of_20th = page(&app, json!({ "first": 100 })).await.cursors[position].clone();
    let previous = page(&app, json!({ "last": 4, "before": cursor_of_20th })).await;
    assert_eq!(previous.ids, now_sorted[position - 4..position].to_vec());
    assert!(previous.ids.contains(&inserted[1].id));
}

async fn nested_connections_page(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let children = with_ids(
        r#"query ($first: Int, $after: String, $last: Int, $before: String, $order: SessionOrder) {
             session(id: "t_root") { ... on UserSession {
               children(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
                 totalCount nodes { ...Ids }
                 pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } }"#,
    );
    let expected = ["t_c5", "t_c4", "t_c3", "t_c2", "t_c1"];
    let mut walked = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let data = app
            .query(&children, json!({ "first": 2, "after": after }))
            .await;
        let connection = &data["session"]["children"];
        assert_eq!(connection["totalCount"], 5);
        assert_eq!(connection["pageInfo"]["hasPreviousPage"], pages > 0);
        walked.extend(ids(connection));
        pages += 1;
        if connection["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(walked, expected);

    let mut walked: Vec<String> = Vec::new();
    let mut before = Value::Null;
    loop {
        let data = app
            .query(&children, json!({ "last": 2, "before": before }))
            .await;
        let connection = &data["session"]["children"];
        let mut page = ids(connection);
        page.extend(walked);
        walked = page;
        if connection["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = connection["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(walked, expected);

    let asc = json!({ "field": "CREATED_AT", "direction": "ASC" });
    let data = app
        .query(&children, json!({ "first": 3, "order": asc }))
        .await;
    assert_eq!(ids(&data["session"]["children"]), ["t_c1", "t_c2", "t_c3"]);
    let after = data["session"]["children"]["pageInfo"]["endCursor"].clone();
    let data = app
        .query(
            &children,
            json!({ "first": 3, "after": after, "order": asc }),
        )
        .await;
    assert_eq!(ids(&data["session"]["children"]), ["t_c4", "t_c5"]);
    assert_eq!(
        data["session"]["children"]["pageInfo"]["hasNextPage"],
        false
    );

    // User.sessions pages the same way (entry sessions only: not t_g1).
    let sessions = with_ids(
        r#"query ($first: Int, $after: String) {
             user(id: "usr_t") { sessions(first: $first, after: $after) {
               totalCount nodes { ...Ids } pageInfo { hasNextPage endCursor } } } }"#,
    );
    let data = app.query(&sessions, json!({ "first": 4 })).await;
    let connection = &data["user"]["sessions"];
    assert_eq!(ids(connection), ["t_c5", "t_c4", "t_c3", "t_c2"]);
    assert_eq!(connection["totalCount"], 6);
    assert_eq!(connection["pageInfo"]["hasNextPage"], true);
    let after = connection["pageInfo"]["endCursor"].clone();
    let data = app
        .query(&sessions, json!({ "first": 4, "after": after }))
        .await;
    let connection = &data["user"]["sessions"];
    assert_eq!(ids(connection), ["t_c1", "t_root"]);
    assert_eq!(connection["pageInfo"]["hasNextPage"], false);

    // Pages of many owners in one request: each owner gets its own page.
    let data = app
        .query(
            &with_ids(
                r#"{
                  users(zoneId: "zone_tree") { nodes { id sessions(first: 2) {
                    totalCount nodes { ...Ids } pageInfo { hasNextPage } } } }
                  sessions(zoneId: "zone_tree", filter: { includeNested: true }, first: 100) {
                    nodes { ... on UserSession { id children(first: 2) {
                      totalCount nodes { ...Ids } pageInfo { hasNextPage } } } } }
                }"#,
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        data["users"]["nodes"],
        json!([
            { "id": "usr_u", "sessions": { "totalCount": 3, "pageInfo": { "hasNextPage": true }, "nodes": [
                { "__typename": "UserSession", "id": "u_1" }, { "__typename": "UserSession", "id": "u_2" } ] } },
            { "id": "usr_t", "sessions": { "totalCount": 6, "pageInfo": { "hasNextPage": true }, "nodes": [
                { "__typename": "UserSession", "id": "t_c5" }, { "__typename": "UserSession", "id": "t_c4" } ] } },
        ])
    );
    let nodes = data["sessions"]["nodes"].as_array().expect("nodes");
    for node in nodes {
        let children = &node["children"];
        let (want, total, more): (Vec<&str>, i64, bool) = match node["id"].as_str().unwrap() {
            "t_root" => (vec!["t_c5", "t_c4"], 5, true),
            "t_c1" => (vec!["t_g1"], 1, false),
            _ => (vec![], 0, false),
        };
        assert_eq!(ids(children), want, "children of {}", node["id"]);
        assert_eq!(children["totalCount"], total);
        assert_eq!(children["pageInfo"]["hasNextPage"], more);
    }
    assert_eq!(nodes.len(), 10);
}

async fn root_lists_page_with_cursors(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let query = r#"query ($first: Int, $after: String, $last: Int, $before: String) {
        users(zoneId: "zone_page", first: $first, after: $after, last: $last, before: $before) {
          totalCount nodes { id } edges { cursor }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"#;
    let user_ids = |data: &Value| -> Vec<String> {
        data["users"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let expected = ["usr_p4", "usr_p3", "usr_p2", "usr_p5", "usr_p"];
    let mut walked = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .query(query, json!({ "first": 2, "after": after }))
            .await;
        assert_eq!(data["users"]["totalCount"], 5);
        walked.extend(user_ids(&data));
        if data["users"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = data["users"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(walked, expected);
    let mut walked: Vec<String> = Vec::new();
    let mut before = Value::Null;
    loop {
        let data = app
            .query(query, json!({ "last": 2, "before": before }))
            .await;
        let mut page = user_ids(&data);
        page.extend(walked);
        walked = page;
        if data["users"]["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = data["users"]["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(walked, expected);

    let data = app
        .query(
            r#"{ applications(zoneId: "zone_page", first: 2) { nodes { id } pageInfo { hasNextPage endCursor } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["applications"]["nodes"],
        json!([{ "id": "app_z" }, { "id": "app_y" }])
    );
    assert_eq!(data["applications"]["pageInfo"]["hasNextPage"], true);
    let after = data["applications"]["pageInfo"]["endCursor"].clone();
    let data = app
        .query(
            r#"query ($after: String) { applications(zoneId: "zone_page", first: 2, after: $after) {
                 nodes { id } pageInfo { hasNextPage hasPreviousPage } } }"#,
            json!({ "after": after }),
        )
        .await;
    assert_eq!(
        data["applications"],
        json!({ "nodes": [{ "id": "app_x" }], "pageInfo": { "hasNextPage": false, "hasPreviousPage": true } })
    );
}

async fn bad_arguments_are_bad_user_input(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let query = with_ids(PAGE_QUERY);
    let whole = page(&app, json!({ "first": 100 })).await;
    let created_cursor = whole.cursors[3].clone();
    let expires = json!({ "field": "EXPIRES_AT", "direction": "DESC" });
    let expires_page = page(&app, json!({ "first": 5, "order": expires })).await;
    let expires_cursor = expires_page.cursors[2].clone();
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let cases = [
        json!({ "first": 1, "last": 1 }),
        json!({ "first": 0, "last": 0 }),
        json!({ "first": -1 }),
        json!({ "last": -1 }),
        json!({ "first": 101 }),
        json!({ "last": 101 }),
        json!({ "first": 2147483647 }),
        json!({ "after": "not a cursor" }),
        json!({ "after": "" }),
        json!({ "before": "%%%" }),
        json!({ "after": b64("nonsense") }),
        json!({ "after": b64("created_at|desc|yesterday|p_a01") }),
        json!({ "after": b64("created_at|desc|1|") }),
        json!({ "before": b64("color|desc|1|p_a01") }),
        // A cursor of another ordering.
        json!({ "first": 2, "after": created_cursor, "order": expires }),
        json!({ "last": 2, "before": created_cursor, "order": expires }),
        json!({ "first": 2, "after": expires_cursor }),
        json!({ "first": 2, "after": expires_cursor, "order": { "field": "AUTHENTICATED_AT", "direction": "DESC" } }),
        // The same field in the other direction: the cursor's neighbours differ.
        json!({ "first": 2, "after": expires_cursor, "order": { "field": "EXPIRES_AT", "direction": "ASC" } }),
        json!({ "first": 2, "after": created_cursor, "order": { "field": "CREATED_AT", "direction": "ASC" } }),
        json!({ "after": b64("created_at|sideways|1|p_a01") }),
    ];
    for variables in cases {
        let (status, body) = app
            .post_graphql(&query, {
                let mut v = variables.clone();
                v["zone"] = json!("zone_page");
                v
            })
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{variables}: {status} {body}"
        );
        assert_eq!(body["data"], Value::Null, "{variables}: {body}");
    }
    // The same rules on nested connections and on the other root lists.
    let nested = [
        r#"{ session(id: "t_root") { ... on UserSession { children(first: 1, last: 1) { totalCount } } } }"#,
        r#"{ session(id: "t_root") { ... on UserSession { children(first: -1) { totalCount } } } }"#,
        r#"{ session(id: "t_root") { ... on UserSession { children(after: "bad") { totalCount } } } }"#,
        r#"{ user(id: "usr_t") { sessions(first: 101) { totalCount } } }"#,
        r#"{ user(id: "usr_t") { sessions(before: "bad") { totalCount } } }"#,
        r#"{ application(id: "app_x") { sessions(last: -5) { totalCount } } }"#,
        r#"{ users(zoneId: "zone_page", first: 101) { totalCount } }"#,
        r#"{ users(zoneId: "zone_page", first: 1, last: 1) { totalCount } }"#,
        r#"{ applications(zoneId: "zone_page", after: "bad") { totalCount } }"#,
        r#"{ userAgents(zoneId: "zone_page", last: -1) { totalCount } }"#,
    ];
    for query in nested {
        assert_eq!(
            app.error_code(query, json!({})).await,
            "BAD_USER_INPUT",
            "{query}"
        );
    }
    let query = format!(
        r#"{{ user(id: "usr_t") {{ sessions(after: "{expires_cursor}") {{ totalCount }} }} }}"#
    );
    assert_eq!(app.error_code(&query, json!({})).await, "BAD_USER_INPUT");
    // The error says what is wrong.
    let (_, body) = app
        .post_graphql(
            &with_ids(PAGE_QUERY),
            json!({ "zone": "zone_page", "first": 101 }),
        )
        .await;
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("first") && message.contains("100"),
        "{message}"
    );
}

async fn first_zero_gives_an_empty_page_with_the_total(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let empty = page(&app, json!({ "first": 0 })).await;
    assert!(empty.ids.is_empty());
    assert_eq!(empty.total, SIZE as i64);
    assert_eq!(empty.start, Value::Null);
    assert_eq!(empty.end, Value::Null);
    assert!(empty.has_next, "rows follow an empty first page");
    assert!(!empty.has_previous);
    let whole = page(&app, json!({ "first": 100 })).await;
    let empty = page(&app, json!({ "first": 0, "after": whole.cursors[10] })).await;
    assert!(empty.ids.is_empty());
    assert_eq!(empty.total, SIZE as i64);
    let empty = page(&app, json!({ "last": 0 })).await;
    assert!(empty.ids.is_empty());
    assert_eq!(empty.total, SIZE as i64);
    let data = app
        .query(
            r#"{ session(id: "t_root") { ... on UserSession { children(first: 0) { totalCount nodes { __typename } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["session"]["children"],
        json!({ "totalCount": 5, "nodes": [] })
    );
    let data = app
        .query(
            r#"{ users(zoneId: "zone_page", first: 0) { totalCount nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["users"], json!({ "totalCount": 5, "nodes": [] }));
}

fn assert_empty_connection(connection: &Value) {
    assert_eq!(
        connection,
        &json!({
            "totalCount": 0,
            "edges": [],
            "nodes": [],
            "pageInfo": { "hasNextPage": false, "hasPreviousPage": false, "startCursor": null, "endCursor": null }
        }),
    );
}

const EMPTY_QUERY: &str = r#"
query ($zone: ID!) {
  a: sessions(zoneId: $zone) { ...C }
  b: sessions(zoneId: $zone, last: 5, filter: { includeNested: true }) { ...C }
  c: applications(zoneId: $zone) { totalCount edges { cursor } nodes { id } pageInfo { ...P } }
  d: users(zoneId: $zone) { totalCount edges { cursor } nodes { id } pageInfo { ...P } }
  e: userAgents(zoneId: $zone) { totalCount edges { cursor } nodes { id } pageInfo { ...P } }
}
fragment C on SessionConnection {
  totalCount edges { cursor } nodes { __typename } pageInfo { ...P }
}
fragment P on PageInfo { hasNextPage hasPreviousPage startCursor endCursor }"#;

async fn a_zone_without_data_gives_empty_connections(db: TestDb) {
    let app = spawn_app_with(db, &document()).await;
    let data = app.query(EMPTY_QUERY, json!({ "zone": "zone_none" })).await;
    for alias in ["a", "b", "c", "d", "e"] {
        assert_empty_connection(&data[alias]);
    }
    // A user without sessions, too.
    let data = app
        .query(r#"{ user(id: "usr_p2") { sessions { totalCount edges { cursor } nodes { __typename } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"#, json!({}))
        .await;
    assert_empty_connection(&data["user"]["sessions"]);
}

async fn an_empty_database_gives_empty_connections(db: TestDb) {
    let app = spawn_app(db).await;
    let data = app.query(EMPTY_QUERY, json!({ "zone": "zone_page" })).await;
    for alias in ["a", "b", "c", "d", "e"] {
        assert_empty_connection(&data[alias]);
    }
}

crate::on_both_databases!(
    forward_pages_cover_the_list_exactly,
    backward_pages_cover_the_list_exactly,
    every_ordering_pages_both_ways,
    default_page_sizes,
    cursors_stay_exact_while_rows_are_inserted_before_them,
    nested_connections_page,
    root_lists_page_with_cursors,
    bad_arguments_are_bad_user_input,
    first_zero_gives_an_empty_page_with_the_total,
    a_zone_without_data_gives_empty_connections,
    an_empty_database_gives_empty_connections,
);
