//! `sessiongraph migrate`: idempotent, safe to run concurrently, and the
//! schema keys everything by zone.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::*;

async fn migrate_is_idempotent(db: TestDb) {
    for _ in 0..2 {
        let output = sessiongraph(&db, &["migrate"], None).await;
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("database is up to date"));
    }
    let conn = db.connect().await;
    for table in ["applications", "users", "user_agents", "sessions"] {
        let count = conn
            .query_one_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("query")
            .expect("row");
        let n: i64 = count.try_get("", "n").expect("count");
        assert_eq!(n, 0, "{table} starts empty");
    }
}

async fn concurrent_migrations_all_succeed(db: TestDb) {
    let (a, b, c) = tokio::join!(
        sessiongraph(&db, &["migrate"], None),
        sessiongraph(&db, &["migrate"], None),
        sessiongraph(&db, &["migrate"], None),
    );
    for output in [a, b, c] {
        assert!(output.status.success(), "{}", stderr(&output));
    }
}

async fn keys_lead_with_zone_and_ids_compare_bytewise(db: TestDb) {
    let conn = db.migrated().await;
    // Rows that differ only in zone may share nothing else; the same id
    // twice in one zone is refused by the primary key (zone_id, id).
    let insert = |zone: &str, id: &str| {
        format!(
            "INSERT INTO users (zone_id, id, organization_id, created_at, updated_at, email, email_verified) \
             VALUES ('{zone}', '{id}', 'org', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'a@example.com', TRUE)"
        )
    };
    conn.execute_unprepared(&insert("z1", "u1"))
        .await
        .expect("first row");
    assert!(
        conn.execute_unprepared(&insert("z1", "u1")).await.is_err(),
        "duplicate (zone_id, id) accepted"
    );
    // Binary collation: uppercase sorts before lowercase, on both databases.
    conn.execute_unprepared(&insert("z1", "a"))
        .await
        .expect("row a");
    conn.execute_unprepared(&insert("z1", "B"))
        .await
        .expect("row B");
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT id FROM users WHERE zone_id = 'z1' ORDER BY id",
        ))
        .await
        .expect("query");
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("", "id").expect("id"))
        .collect();
    assert_eq!(ids, ["B", "a", "u1"]);
    if conn.get_database_backend() == DbBackend::Postgres {
        let row = conn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT data_type FROM information_schema.columns WHERE table_name = 'sessions' AND column_name = 'session_data'",
            ))
            .await
            .expect("query")
            .expect("row");
        let data_type: String = row.try_get("", "data_type").expect("type");
        assert_eq!(data_type, "jsonb");
    }
}

crate::on_both_databases!(
    migrate_is_idempotent,
    concurrent_migrations_all_succeed,
    keys_lead_with_zone_and_ids_compare_bytewise,
);
