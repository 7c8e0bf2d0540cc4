//! `sessiongraph seed`: deterministic, realistic, and the same whether
//! written to a file and imported or written straight into the database.

use std::collections::HashMap;

use sessiongraph::entities::enums::{SessionType, StoredStatus};
use sessiongraph::seed::{self, MAX_DEPTH, SeedOptions};

use crate::helpers::*;

fn small() -> SeedOptions {
    SeedOptions {
        seed: 3,
        zones: 2,
        users: 60,
        applications: 8,
        user_agents: 6,
        sessions: 1_500,
    }
}

#[test]
fn same_seed_same_dataset_other_seed_other_dataset() {
    let a = serde_json::to_string(&seed::generate(&small())).expect("json");
    let b = serde_json::to_string(&seed::generate(&small())).expect("json");
    assert_eq!(a, b);
    let c =
        serde_json::to_string(&seed::generate(&SeedOptions { seed: 4, ..small() })).expect("json");
    assert_ne!(a, c);
}

#[test]
fn shape_is_realistic() {
    let dataset = seed::generate(&small());
    assert_eq!(dataset.sessions.len(), 1_500);
    let application_sessions = dataset
        .sessions
        .iter()
        .filter(|s| s.session_type == SessionType::Application)
        .count();
    assert!(
        (75..=300).contains(&application_sessions),
        "{application_sessions} application sessions"
    );

    // Depth, following parents; every level up to MAX_DEPTH occurs.
    let by_id: HashMap<&str, &sessiongraph::dataset::Session> = dataset
        .sessions
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    let depth = |id: &str| {
        let mut depth = 0;
        let mut current = by_id[id];
        while let Some(parent) = current.parent_id.as_deref() {
            depth += 1;
            current = by_id[parent];
        }
        depth
    };
    let deepest = dataset
        .sessions
        .iter()
        .map(|s| depth(&s.id))
        .max()
        .unwrap_or(0);
    assert_eq!(deepest, MAX_DEPTH);

    // Children belong to their parent's user and zone.
    for s in dataset.sessions.iter().filter(|s| s.parent_id.is_some()) {
        let parent = by_id[s.parent_id.as_deref().unwrap_or_default()];
        assert_eq!(parent.user_id, s.user_id);
        assert_eq!(parent.zone_id, s.zone_id);
    }

    // A mix of statuses, including stored-active sessions already past expiry.
    let anchor = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").expect("anchor");
    let count = |status| {
        dataset
            .sessions
            .iter()
            .filter(|s| s.status == status)
            .count()
    };
    assert!(
        count(StoredStatus::Active) > 0
            && count(StoredStatus::Expired) > 0
            && count(StoredStatus::Revoked) > 0
    );
    let stale_active = dataset
        .sessions
        .iter()
        .filter(|s| s.status == StoredStatus::Active && s.expires_at.is_some_and(|e| e < anchor))
        .count();
    assert!(stale_active > 0, "no stored-active session past its expiry");
    assert!(
        dataset.sessions.iter().all(|s| s.session_data.is_some()),
        "claims in session_data"
    );
    // Records are spread over both zones.
    assert!(dataset.users.iter().any(|u| u.zone_id == seed::zone_id(1)));
}

async fn seed_out_then_import_round_trips(db: TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("seed.json");
    let path_text = path.to_str().expect("utf-8");
    let options = small();
    let output = sessiongraph(
        &db,
        &[
            "seed",
            "--seed",
            "3",
            "--zones",
            "2",
            "--users",
            "60",
            "--applications",
            "8",
            "--user-agents",
            "6",
            "--sessions",
            "1500",
            "--out",
            path_text,
        ],
        None,
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let output = import_file(&db, &path).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("1500 sessions"),
        "{}",
        stdout(&output)
    );
    let stored = snapshot(&db.connect().await).await;
    assert_eq!(stored, sorted(seed::generate(&options)));
}

async fn seed_into_database_equals_seed_out(db: TestDb) {
    let output = sessiongraph(
        &db,
        &[
            "seed",
            "--seed",
            "3",
            "--zones",
            "2",
            "--users",
            "60",
            "--applications",
            "8",
            "--user-agents",
            "6",
            "--sessions",
            "1500",
        ],
        None,
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let conn = db.connect().await;
    assert_eq!(snapshot(&conn).await, sorted(seed::generate(&small())));
    // Stored depths agree with the parent links and stay within MAX_DEPTH.
    let positions = tree_positions(&conn).await;
    assert!(
        positions
            .iter()
            .all(|(_, depth, _)| (0..=MAX_DEPTH).contains(depth))
    );
    assert!(positions.iter().any(|(_, depth, _)| *depth == MAX_DEPTH));

    // Seeding again is an idempotent upsert.
    let output = sessiongraph(
        &db,
        &[
            "seed",
            "--seed",
            "3",
            "--zones",
            "2",
            "--users",
            "60",
            "--applications",
            "8",
            "--user-agents",
            "6",
            "--sessions",
            "1500",
        ],
        None,
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(snapshot(&conn).await, sorted(seed::generate(&small())));
}

crate::on_both_databases!(
    seed_out_then_import_round_trips,
    seed_into_database_equals_seed_out
);
