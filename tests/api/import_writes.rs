//! What a successful import stores: the records as given, tree positions,
//! stdin, upserts that move subtrees.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::*;

async fn imports_the_example_and_reads_it_back(db: TestDb) {
    let output = import_json(&db, &example_document()).await;
    assert!(
        output.status.success(),
        "import failed: {}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("imported 1 applications, 1 users, 1 user agents and 3 sessions"),
        "summary: {}",
        stdout(&output)
    );
    let conn = db.connect().await;
    let stored = snapshot(&conn).await;
    let parsed = sessiongraph::dataset::parse::parse_document(&example_document().to_string())
        .expect("example parses");
    assert_eq!(stored, sorted(parsed));
    assert_eq!(
        tree_positions(&conn).await,
        vec![
            ("ses_app01".into(), 0, "ses_app01".into()),
            ("ses_child01".into(), 1, "ses_root01".into()),
            ("ses_root01".into(), 0, "ses_root01".into()),
        ]
    );
    // The +01:00 offset is stored as the same instant in UTC; fractions are kept.
    let app_session = stored
        .sessions
        .iter()
        .find(|s| s.id == "ses_app01")
        .expect("ses_app01");
    assert_eq!(
        sessiongraph::timestamp::format(&app_session.created_at.expect("created_at")),
        "2026-03-03T11:00:00Z"
    );
    let child = stored
        .sessions
        .iter()
        .find(|s| s.id == "ses_child01")
        .expect("ses_child01");
    assert_eq!(
        sessiongraph::timestamp::format(&child.created_at.expect("created_at")),
        "2026-03-04T08:05:00.250Z"
    );
}

async fn imports_from_stdin(db: TestDb) {
    let bytes = serde_json::to_vec(&example_document()).expect("json");
    let output = sessiongraph(&db, &["import", "-"], Some(&bytes)).await;
    assert!(
        output.status.success(),
        "import failed: {}",
        stderr(&output)
    );
    assert_eq!(snapshot(&db.connect().await).await.sessions.len(), 3);
}

async fn missing_file_is_a_clear_error(db: TestDb) {
    let output = sessiongraph(&db, &["import", "/nonexistent/dataset.json"], None).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("reading /nonexistent/dataset.json"),
        "{}",
        stderr(&output)
    );
}

async fn reparenting_moves_stored_descendants(db: TestDb) {
    // A chain a <- b <- c, then a second root d; re-import b under d.
    let mut document = example_document();
    let session = |id: &str, parent: Option<&str>| {
        let mut s = json!({
            "session_type": "user", "id": id, "zone_id": "zone_demo",
            "user_id": "usr_81aa0e", "created_at": "2026-03-04T08:00:00Z"
        });
        if let Some(parent) = parent {
            s["parent_id"] = json!(parent);
        }
        s
    };
    document["sessions"] = json!([
        session("ses_a", None),
        session("ses_b", Some("ses_a")),
        session("ses_c", Some("ses_b")),
        session("ses_d", None),
    ]);
    let output = import_json(&db, &document).await;
    assert!(output.status.success(), "{}", stderr(&output));

    let moved = json!({ "sessions": [session("ses_b", Some("ses_d"))] });
    let output = import_json(&db, &moved).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let positions = tree_positions(&db.connect().await).await;
    assert_eq!(
        positions,
        vec![
            ("ses_a".into(), 0, "ses_a".into()),
            ("ses_b".into(), 1, "ses_d".into()),
            ("ses_c".into(), 2, "ses_d".into()),
            ("ses_d".into(), 0, "ses_d".into()),
        ]
    );

    // And back to the top: b becomes a root, c follows.
    let detached = json!({ "sessions": [session("ses_b", None)] });
    let output = import_json(&db, &detached).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let positions = tree_positions(&db.connect().await).await;
    assert_eq!(positions[1], ("ses_b".into(), 0, "ses_b".into()));
    assert_eq!(positions[2], ("ses_c".into(), 1, "ses_b".into()));
}

async fn references_may_point_at_stored_records(db: TestDb) {
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    // A second document that only adds a grandchild of stored sessions.
    let more = json!({ "sessions": [{
        "session_type": "user", "id": "ses_grandchild", "zone_id": "zone_demo",
        "user_id": "usr_81aa0e", "application_id": "app_2f9c1d",
        "user_agent_id": "ua_7d2c44", "parent_id": "ses_child01"
    }]});
    let output = import_json(&db, &more).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let positions = tree_positions(&db.connect().await).await;
    assert!(
        positions.contains(&("ses_grandchild".into(), 2, "ses_root01".into())),
        "{positions:?}"
    );
}

/// After a bulk load PostgreSQL's tables are vacuumed as well as analyzed:
/// until their pages are marked all-visible, every index-only scan (each
/// `totalCount`) still reads the rows, until autovacuum comes round.
async fn an_import_leaves_the_tables_vacuumed(db: TestDb) {
    let output = import_json(&db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    if !db.backend.is_postgres() {
        return;
    }
    let conn = db.connect().await;
    for table in ["applications", "users", "user_agents", "sessions"] {
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                format!(
                    "SELECT relpages::bigint AS pages, relallvisible::bigint AS visible \
                     FROM pg_class WHERE relname = '{table}'"
                ),
            ))
            .await
            .expect("query")
            .expect("row");
        let pages: i64 = row.try_get("", "pages").expect("pages");
        let visible: i64 = row.try_get("", "visible").expect("visible");
        assert!(pages > 0, "{table} has pages");
        assert_eq!(visible, pages, "{table}'s pages are all-visible");
    }
}

/// Timestamps read back to the microsecond on either side of both epochs
/// (PostgreSQL's, 2000-01-01, and Unix's), and one chrono cannot hold
/// (`infinity`) fails its read rather than panicking. SQLite stores them
/// as text, which the store's own parser reads.
async fn timestamps_decode_to_the_microsecond(db: TestDb) {
    if !db.backend.is_postgres() {
        return;
    }
    let conn = db.connect().await;
    let instants = [
        "1969-07-20T20:17:40.123456Z",
        "1970-01-01T00:00:00Z",
        "1999-12-31T23:59:59.999999Z",
        "2000-01-01T00:00:00Z",
        "2000-01-01T00:00:00.000001Z",
        "2026-12-07T21:30:00.5Z",
        "9999-12-31T23:59:59.999999Z",
    ];
    for instant in instants {
        let row = one_row(
            &conn,
            &format!("SELECT CAST('{instant}' AS timestamptz) AS at"),
            [],
        )
        .await;
        let read: chrono::DateTime<chrono::Utc> = row.try_get("", "at").expect("decodes");
        let expected = chrono::DateTime::parse_from_rfc3339(instant).expect("rfc 3339");
        assert_eq!(read, expected, "{instant}");
    }
    let row = one_row(&conn, "SELECT CAST('infinity' AS timestamptz) AS at", []).await;
    let read: Result<chrono::DateTime<chrono::Utc>, _> = row.try_get("", "at");
    assert!(read.is_err(), "infinity read as {read:?}");
}

/// Text reads back as stored, ASCII or not: PostgreSQL's text decoding
/// takes ASCII without a full UTF-8 check (see vendor/sqlx-postgres).
async fn text_decodes_ascii_and_beyond(db: TestDb) {
    let conn = db.connect().await;
    let texts = [
        "",
        "a",
        "seven77",
        "exactly8",
        "ses_0123456789ab",
        "caf\u{e9}",
        "\u{e9}t\u{e9} \u{2014} na\u{ef}ve r\u{e9}sum\u{e9}s, longer than a word",
        "\u{1F600} then ascii",
        "an ascii prefix longer than two words, then \u{fc}",
        "\u{7f} delete, tab\t and newline\n",
    ];
    for text in texts {
        let sql = if db.backend.is_postgres() {
            "SELECT CAST($1 AS TEXT) AS t"
        } else {
            "SELECT CAST(? AS TEXT) AS t"
        };
        let row = one_row(&conn, sql, [text.into()]).await;
        let read: String = row.try_get("", "t").expect("decodes");
        assert_eq!(read, text);
    }
}

/// The one row `sql` returns.
async fn one_row<const N: usize>(
    conn: &sea_orm::DatabaseConnection,
    sql: &str,
    values: [sea_orm::Value; N],
) -> sea_orm::QueryResult {
    conn.query_one_raw(sea_orm::Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        values,
    ))
    .await
    .expect("query")
    .expect("row")
}

crate::on_both_databases!(
    text_decodes_ascii_and_beyond,
    timestamps_decode_to_the_microsecond,
    an_import_leaves_the_tables_vacuumed,
    imports_the_example_and_reads_it_back,
    imports_from_stdin,
    missing_file_is_a_clear_error,
    reparenting_moves_stored_descendants,
    references_may_point_at_stored_records,
);
