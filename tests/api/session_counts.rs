//! The kept session counts behind `sessionStats`, against counting the rows
//! themselves: random sequences of imports (new sessions, changed ones,
//! moved ones), revokes, deletes, expiry sweeps and moves of the reader's
//! clock, with every part of the statistics compared after each step, for
//! random filters, as an unrestricted caller and as one organization.
//!
//! `SESSION_COUNT_SEQUENCES` (default 2) and `SESSION_COUNT_STEPS` (default
//! 25) size the run; `SESSION_COUNT_SEED` picks the first sequence's seed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use sessiongraph::auth::{Access, AuthSettings, Authenticator, Claims, KeySource, mint_hs256};
use sessiongraph::entities::enums::SessionType;
use sessiongraph::metrics::Metrics;
use sessiongraph::store::replicas::ReadRouter;
use sessiongraph::store::session_lists::Criteria;
use sessiongraph::store::session_stats::Grouping;
use sessiongraph::store::status::EffectiveStatus;
use sessiongraph::store::{Clock, Projection, Reader, db, session_counts, writes};

use crate::helpers::*;
use crate::on_both_databases;

const SECRET: &str = "session-counts-secret-0123456789abcdef";
const ZONES: [&str; 2] = ["zone_c1", "zone_c2"];
const APPLICATIONS: [(&str, &str); 3] = [
    ("app_c1", "org_a"),
    ("app_c2", "org_a"),
    ("app_c3", "org_b"),
];
const USER_AGENTS: [&str; 3] = ["ua_c1", "ua_c2", "ua_c3"];
const USERS: [&str; 2] = ["usr_c1", "usr_c2"];

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A session as the test last wrote it.
#[derive(Debug, Clone)]
struct Known {
    zone: usize,
    user: bool,
    parent: Option<String>,
}

struct Run {
    rng: ChaCha8Rng,
    /// Expiries and clocks are laid out around this instant.
    base: DateTime<Utc>,
    sessions: BTreeMap<String, Known>,
    next_id: usize,
}

impl Run {
    /// A sequence from `seed`, its ids numbered from `first_id`, its
    /// instants around now.
    fn new(seed: u64, first_id: usize) -> Self {
        Run {
            rng: ChaCha8Rng::seed_from_u64(seed),
            base: sessiongraph::timestamp::truncate_to_micros(Utc::now()),
            sessions: BTreeMap::new(),
            next_id: first_id,
        }
    }

    fn instant(&mut self) -> DateTime<Utc> {
        self.base + Duration::seconds(self.rng.random_range(-3_600..3_600))
    }

    fn record(&mut self, id: &str, known: &Known) -> Value {
        let zone = ZONES[known.zone];
        let status = *["active", "active", "active", "expired", "revoked"]
            .choose(&mut self.rng)
            .unwrap_or(&"active");
        let expires_at = if self.rng.random_bool(0.15) {
            Value::Null
        } else {
            json!(self.instant().to_rfc3339())
        };
        let organization = *[Some("org_a"), Some("org_a"), Some("org_b"), None]
            .choose(&mut self.rng)
            .unwrap_or(&None);
        let application = if known.user && self.rng.random_bool(0.3) {
            Value::Null
        } else {
            json!(format!(
                "{}_{zone}",
                APPLICATIONS[self.rng.random_range(0..3)].0
            ))
        };
        let created_at =
            (self.base - Duration::days(1) + Duration::seconds(self.next_id as i64)).to_rfc3339();
        if known.user {
            let user_agent = if self.rng.random_bool(0.2) {
                Value::Null
            } else {
                json!(format!(
                    "{}_{zone}",
                    USER_AGENTS[self.rng.random_range(0..3)]
                ))
            };
            json!({
                "session_type": "user", "id": id, "zone_id": zone,
                "organization_id": organization, "status": status,
                "user_id": format!("{}_{zone}", USERS[self.rng.random_range(0..2)]),
                "application_id": application, "user_agent_id": user_agent,
                "parent_id": known.parent, "created_at": created_at, "expires_at": expires_at,
            })
        } else {
            json!({
                "session_type": "application", "id": id, "zone_id": zone,
                "organization_id": organization, "status": status,
                "application_id": application, "created_at": created_at, "expires_at": expires_at,
            })
        }
    }

    /// The user sessions of `zone` that may become `id`'s parent: none
    /// below `id` itself.
    fn possible_parents(&self, zone: usize, id: Option<&str>) -> Vec<String> {
        self.sessions
            .iter()
            .filter(|(candidate, known)| {
                known.zone == zone
                    && known.user
                    && id.is_none_or(|id| !self.is_below(candidate, id))
            })
            .map(|(candidate, _)| candidate.clone())
            .collect()
    }

    /// Whether `id` is `ancestor` or below it.
    fn is_below(&self, id: &str, ancestor: &str) -> bool {
        let mut at = Some(id.to_owned());
        while let Some(current) = at {
            if current == ancestor {
                return true;
            }
            at = self
                .sessions
                .get(&current)
                .and_then(|known| known.parent.clone());
        }
        false
    }

    /// New sessions, and some stored ones written again (other status,
    /// expiry, owners, organization or parent).
    fn import_document(&mut self) -> Value {
        let mut records = Vec::new();
        let mut written = BTreeSet::new();
        for _ in 0..self.rng.random_range(1..6) {
            let zone = self.rng.random_range(0..ZONES.len());
            let user = self.rng.random_bool(0.85);
            let parents = self.possible_parents(zone, None);
            let parent = (user && !parents.is_empty() && self.rng.random_bool(0.6))
                .then(|| parents.choose(&mut self.rng).cloned())
                .flatten();
            self.next_id += 1;
            let id = format!("ses_c{:04}", self.next_id);
            let known = Known { zone, user, parent };
            records.push(self.record(&id, &known));
            written.insert(id.clone());
            self.sessions.insert(id, known);
        }
        let stored: Vec<String> = self.sessions.keys().cloned().collect();
        for _ in 0..self.rng.random_range(0..4) {
            let Some(id) = stored.choose(&mut self.rng).cloned() else {
                break;
            };
            if !written.insert(id.clone()) {
                continue;
            }
            let mut known = self.sessions[&id].clone();
            if known.user && self.rng.random_bool(0.3) {
                let parents = self.possible_parents(known.zone, Some(&id));
                known.parent = if self.rng.random_bool(0.3) {
                    None
                } else {
                    parents.choose(&mut self.rng).cloned()
                };
            }
            records.push(self.record(&id, &known));
            self.sessions.insert(id, known);
        }
        json!({ "sessions": records })
    }

    fn forget_subtree(&mut self, id: &str) {
        let below: Vec<String> = self
            .sessions
            .keys()
            .filter(|candidate| self.is_below(candidate, id))
            .cloned()
            .collect();
        for id in below {
            self.sessions.remove(&id);
        }
    }

    fn criteria(&mut self, zone: usize) -> Criteria {
        let zone = ZONES[zone];
        let statuses = match self.rng.random_range(0..6) {
            0 => Some(vec![EffectiveStatus::Active]),
            1 => Some(vec![EffectiveStatus::Expired, EffectiveStatus::Revoked]),
            2 => Some(vec![]),
            3 => Some(vec![EffectiveStatus::Expired]),
            _ => None,
        };
        let pick = |rng: &mut ChaCha8Rng, ids: Vec<String>| {
            rng.random_bool(0.3)
                .then(|| ids.choose(rng).cloned())
                .flatten()
        };
        let applications = APPLICATIONS
            .iter()
            .map(|(id, _)| format!("{id}_{zone}"))
            .chain(["app_unknown".to_owned(), String::new()])
            .collect();
        // '' is how the counts say "none": a filter for it matches nothing.
        let user_agents = USER_AGENTS
            .iter()
            .map(|id| format!("{id}_{zone}"))
            .chain([String::new()])
            .collect();
        Criteria {
            session_type: match self.rng.random_range(0..4) {
                0 => Some(SessionType::User),
                1 => Some(SessionType::Application),
                _ => None,
            },
            statuses,
            user_id: None,
            application_id: pick(&mut self.rng, applications),
            user_agent_id: pick(&mut self.rng, user_agents),
            include_nested: self.rng.random_bool(0.5),
            max_depth: None,
        }
    }
}

/// A fresh, migrated database holding [`owners_document`].
async fn owners_database(test_db: &TestDb) -> sea_orm::DatabaseConnection {
    let connection = db::connect(&test_db.url).await.expect("connect");
    db::migrate(&connection).await.expect("migrate");
    sessiongraph::import::import_text(&connection, &owners_document().to_string())
        .await
        .expect("owners import");
    connection
}

/// Reads on `connection` alone (no replicas).
fn reads_on(connection: &sea_orm::DatabaseConnection) -> Arc<ReadRouter> {
    ReadRouter::new(
        connection.clone(),
        Vec::new(),
        StdDuration::from_secs(1),
        Metrics::new(),
    )
}

/// A filter every session of a zone meets.
fn every_session() -> Criteria {
    Criteria {
        session_type: None,
        statuses: None,
        user_id: None,
        application_id: None,
        user_agent_id: None,
        include_nested: true,
        max_depth: None,
    }
}

/// The one integer `sql` selects (a count the test takes itself).
async fn integer(connection: &sea_orm::DatabaseConnection, sql: impl Into<String>) -> i64 {
    use sea_orm::ConnectionTrait;
    let sql = sql.into();
    let row = connection
        .query_one_raw(sea_orm::Statement::from_string(
            connection.get_database_backend(),
            sql.clone(),
        ))
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<i64>(0)
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// Asserts that every part of the statistics of `criteria` reads the same
/// from the kept counts as from counting the rows.
async fn assert_counts_match(
    reader: &Reader,
    zone: &str,
    criteria: &Criteria,
    limit: impl Fn(Grouping) -> Option<u32>,
    context: &str,
) -> usize {
    for grouping in GROUPINGS {
        let limit = limit(grouping);
        let kept = reader
            .session_group_counts(zone, criteria, grouping, limit)
            .await
            .expect("kept counts");
        let counted = reader
            .session_group_counts_by_scan(zone, criteria, grouping, limit)
            .await
            .expect("counted rows");
        assert_eq!(kept, counted, "{context}: {grouping:?} of {criteria:?}");
    }
    GROUPINGS.len()
}

/// Applications, users and user agents of both zones, in two organizations.
fn owners_document() -> Value {
    let mut applications = Vec::new();
    let mut user_agents = Vec::new();
    let mut users = Vec::new();
    for zone in ZONES {
        for (id, organization) in APPLICATIONS {
            applications.push(json!({
                "id": format!("{id}_{zone}"), "zone_id": zone, "organization_id": organization,
                "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
                "dependencies_count": 0, "identifier": id, "name": id,
                "owner_type": "customer", "slug": id.replace('_', "-")
            }));
        }
        for (n, id) in USER_AGENTS.iter().enumerate() {
            user_agents.push(json!({
                "id": format!("{id}_{zone}"), "zone_id": zone,
                "organization_id": if n == 2 { "org_b" } else { "org_a" },
                "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
                "identifier": format!("ua:{}", n.to_string().repeat(64)),
                "name": id, "slug": id.replace('_', "-")
            }));
        }
        for id in USERS {
            users.push(json!({
                "id": format!("{id}_{zone}"), "zone_id": zone, "organization_id": "org_a",
                "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
                "email": format!("{id}@example.com"), "email_verified": true
            }));
        }
    }
    json!({ "applications": applications, "user_agents": user_agents, "users": users })
}

fn organization_access() -> Access {
    let authenticator = Authenticator::from_settings(&AuthSettings {
        keys: Some(KeySource::Secret(SECRET.to_owned())),
        ..AuthSettings::default()
    })
    .expect("authenticator")
    .expect("keys given");
    let token = mint_hs256(
        SECRET,
        &Claims {
            sub: "counts".to_owned(),
            exp: jsonwebtoken::get_current_timestamp() + 3_600,
            org: "org_a".to_owned(),
            zones: ZONES.iter().map(|zone| zone.to_string()).collect(),
            scope: "sessions:read sessions:write".to_owned(),
            iss: None,
            aud: None,
        },
    )
    .expect("token");
    authenticator
        .authenticate(Some(format!("Bearer {token}").as_bytes()))
        .expect("valid token")
}

const GROUPINGS: [Grouping; 5] = [
    Grouping::Nothing,
    Grouping::EffectiveStatus,
    Grouping::SessionType,
    Grouping::Application,
    Grouping::UserAgent,
];

on_both_databases!(kept_counts_equal_a_recount_after_every_step);

async fn kept_counts_equal_a_recount_after_every_step(test_db: TestDb) {
    let connection = owners_database(&test_db).await;
    let reads = reads_on(&connection);
    let callers = [
        Arc::new(Access::unrestricted()),
        Arc::new(organization_access()),
    ];
    let sequences = setting("SESSION_COUNT_SEQUENCES", 2);
    let steps = setting("SESSION_COUNT_STEPS", 25);
    let first_seed = setting("SESSION_COUNT_SEED", 1);
    let mut compared = 0usize;
    for seed in first_seed..first_seed + sequences {
        let mut run = Run::new(seed, seed as usize * 10_000);
        let mut clock = run.base;
        for step in 0..steps {
            let action = match run.rng.random_range(0..10) {
                0..=3 => {
                    let document = run.import_document();
                    sessiongraph::import::import_text(&connection, &document.to_string())
                        .await
                        .unwrap_or_else(|error| {
                            panic!("seed {seed} step {step}: import: {error:?}")
                        });
                    "import"
                }
                4 | 5 => {
                    let ids: Vec<String> = run.sessions.keys().cloned().collect();
                    if let Some(id) = ids.choose(&mut run.rng) {
                        writes::revoke_subtree(&connection, &Access::unrestricted(), id)
                            .await
                            .unwrap_or_else(|error| {
                                panic!("seed {seed} step {step}: revoke: {error:?}")
                            });
                    }
                    "revoke"
                }
                6 => {
                    let ids: Vec<String> = run.sessions.keys().cloned().collect();
                    if let Some(id) = ids.choose(&mut run.rng).cloned() {
                        writes::delete_subtree(&connection, &Access::unrestricted(), &id)
                            .await
                            .unwrap_or_else(|error| {
                                panic!("seed {seed} step {step}: delete: {error:?}")
                            });
                        run.forget_subtree(&id);
                    }
                    "delete"
                }
                7 => {
                    let until = run.instant();
                    for zone in ZONES {
                        session_counts::sweep_expired(&connection, zone, until)
                            .await
                            .unwrap_or_else(|error| {
                                panic!("seed {seed} step {step}: sweep: {error:?}")
                            });
                    }
                    "sweep"
                }
                _ => {
                    clock = run.instant();
                    "clock"
                }
            };
            for caller in &callers {
                let reader = Reader::new(
                    reads.on_primary(),
                    caller.clone(),
                    Clock::at(clock),
                    Projection::ALL,
                );
                for _ in 0..4 {
                    let zone = run.rng.random_range(0..ZONES.len());
                    let criteria = run.criteria(zone);
                    let top = run.rng.random_range(1..4);
                    let context = format!(
                        "seed {seed} step {step} after {action} at {clock} as {:?}",
                        caller.organization_id()
                    );
                    compared += assert_counts_match(
                        &reader,
                        ZONES[zone],
                        &criteria,
                        |grouping| {
                            matches!(grouping, Grouping::Application | Grouping::UserAgent)
                                .then_some(top)
                        },
                        &context,
                    )
                    .await;
                }
            }
        }
    }
    let recounted = session_counts::recount(&connection).await.expect("recount");
    for zone in &recounted {
        assert_eq!(zone.drifted_keys, 0, "recount found drift: {zone:?}");
    }
    eprintln!(
        "{compared} statistics compared over {sequences} sequences of {steps} steps ({:?})",
        test_db.backend
    );
}

on_both_databases!(recount_reports_and_repairs_drift);

/// Counts damaged behind the gateway's back are found and rebuilt.
async fn recount_reports_and_repairs_drift(test_db: TestDb) {
    let connection = owners_database(&test_db).await;
    let mut run = Run::new(7, 0);
    for _ in 0..4 {
        let document = run.import_document();
        sessiongraph::import::import_text(&connection, &document.to_string())
            .await
            .expect("import");
    }
    let clean = session_counts::recount(&connection).await.expect("recount");
    assert!(clean.iter().all(|zone| zone.drifted_keys == 0), "{clean:?}");
    let sessions: i64 = clean.iter().map(|zone| zone.sessions).sum();
    assert_eq!(sessions as usize, run.sessions.len());
    use sea_orm::ConnectionTrait;
    connection
        .execute_unprepared(&format!(
            "UPDATE session_counts SET total = total + 5 WHERE zone_id = '{}' AND level = 3",
            ZONES[0]
        ))
        .await
        .expect("damage");
    let found = session_counts::recount(&connection).await.expect("recount");
    let damaged = found
        .iter()
        .find(|zone| zone.zone_id == ZONES[0])
        .expect("zone recounted");
    assert!(
        damaged.drifted_keys > 0 && damaged.drifted_sessions >= 5,
        "{damaged:?}"
    );
    let again = session_counts::recount(&connection).await.expect("recount");
    assert!(again.iter().all(|zone| zone.drifted_keys == 0), "{again:?}");
}

on_both_databases!(a_revoke_counts_before_and_after_its_fold);

/// A revoke leaves the count rows alone and appends its move; reads add
/// the moves not folded yet, and the fold adds them to the counts and
/// removes them without changing any answer.
async fn a_revoke_counts_before_and_after_its_fold(test_db: TestDb) {
    let connection = owners_database(&test_db).await;
    let zone = ZONES[0];
    let now = Utc::now();
    let session = |id: &str, parent: Option<&str>| {
        json!({
            "session_type": "user", "id": id, "zone_id": zone, "organization_id": "org_a",
            "user_id": format!("usr_c1_{zone}"), "application_id": format!("app_c1_{zone}"),
            "user_agent_id": format!("ua_c1_{zone}"), "parent_id": parent,
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": (now + Duration::hours(1)).to_rfc3339(),
        })
    };
    let document = json!({ "sessions": [
        session("ses_fold_root", None),
        session("ses_fold_child", Some("ses_fold_root")),
        session("ses_fold_other", None),
    ]});
    sessiongraph::import::import_text(&connection, &document.to_string())
        .await
        .expect("import");
    let moves = || async {
        (
            integer(&connection, "SELECT COUNT(*) FROM session_count_moves").await,
            integer(
                &connection,
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM session_count_moves",
            )
            .await,
        )
    };
    let counts = || {
        integer(
            &connection,
            format!(
                "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM session_counts WHERE zone_id = '{zone}' AND level = 3 AND status = 'revoked'"
            ),
        )
    };
    let reads = reads_on(&connection);
    let criteria = every_session();
    // Every part, for a caller of every organization and one of org_a.
    let every_part_matches = |context: &'static str| {
        let (reads, criteria) = (&reads, &criteria);
        async move {
            for caller in [
                Arc::new(Access::unrestricted()),
                Arc::new(organization_access()),
            ] {
                let reader = Reader::new(
                    reads.on_primary(),
                    caller,
                    Clock::at(Utc::now()),
                    Projection::ALL,
                );
                assert_counts_match(&reader, zone, criteria, |_| None, context).await;
            }
        }
    };
    let revoked_before = counts().await;
    let revoked = writes::revoke_subtree(&connection, &Access::unrestricted(), "ses_fold_root")
        .await
        .expect("revoke");
    assert_eq!(revoked.changed.len(), 2);
    // Two sessions of one key (both entry sessions): one move row.
    assert_eq!(moves().await, (1, 2), "the revoke's move");
    assert_eq!(
        counts().await,
        revoked_before,
        "the revoke changed count rows"
    );
    every_part_matches("before the fold").await;
    assert!(
        session_counts::fold_moves(&connection, None)
            .await
            .expect("fold")
    );
    assert_eq!(moves().await, (0, 0), "the fold left moves behind");
    assert_eq!(
        counts().await,
        revoked_before + 2,
        "the fold did not add the moves"
    );
    every_part_matches("after the fold").await;
    // A move kept when a recount starts is part of what it finds kept.
    writes::revoke_subtree(&connection, &Access::unrestricted(), "ses_fold_other")
        .await
        .expect("revoke");
    let recounted = session_counts::recount(&connection).await.expect("recount");
    assert!(
        recounted.iter().all(|zone| zone.drifted_keys == 0),
        "{recounted:?}"
    );
    assert_eq!(moves().await, (0, 0), "the recount left moves behind");
}

on_both_databases!(concurrent_writes_lose_no_count);

/// Revokes, deletes, imports and sweeps at once from several tasks (each
/// its own connections on PostgreSQL): afterwards a recount finds every
/// kept count exact.
async fn concurrent_writes_lose_no_count(test_db: TestDb) {
    let connection = owners_database(&test_db).await;
    let base = sessiongraph::timestamp::truncate_to_micros(Utc::now());
    // Trees of a root and two children each, expiring around now.
    let tree = move |task: usize, round: usize, rng: &mut ChaCha8Rng| {
        let expiry = |rng: &mut ChaCha8Rng| {
            (base + Duration::milliseconds(rng.random_range(-2_000..4_000))).to_rfc3339()
        };
        let root = format!("ses_t{task}_{round}_root");
        let mut sessions = vec![json!({
            "session_type": "user", "id": root, "zone_id": ZONES[0], "organization_id": "org_a",
            "user_id": format!("usr_c1_{}", ZONES[0]), "application_id": format!("app_c{}_{}", 1 + task % 3, ZONES[0]),
            "created_at": "2026-01-01T00:00:00Z", "expires_at": expiry(rng),
        })];
        for child in 0..2 {
            sessions.push(json!({
                "session_type": "user", "id": format!("ses_t{task}_{round}_{child}"), "zone_id": ZONES[0],
                "user_id": format!("usr_c2_{}", ZONES[0]), "parent_id": root,
                "user_agent_id": format!("ua_c{}_{}", 1 + child, ZONES[0]),
                "created_at": "2026-01-01T00:00:00Z", "expires_at": expiry(rng),
            }));
        }
        json!({ "sessions": sessions })
    };
    // Futures run together rather than spawned: the import's future is
    // not `Send`-general enough for `tokio::spawn`. Each still holds its
    // own connection while it waits on the database.
    let mut tasks = Vec::new();
    for task in 0..6 {
        let connection = connection.clone();
        tasks.push(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(task as u64);
            let access = Access::unrestricted();
            for round in 0..15 {
                let document = tree(task, round, &mut rng);
                match sessiongraph::import::import_text(&connection, &document.to_string()).await {
                    Ok(_) => {}
                    Err(sessiongraph::import::ImportFailure::Other(error))
                        if error
                            .chain()
                            .filter_map(|cause| cause.downcast_ref::<sea_orm::DbErr>())
                            .any(db::is_unavailable) => {}
                    Err(error) => panic!("task {task} round {round}: import: {error:?}"),
                }
                // Another task's tree, or this one's.
                let other = rng.random_range(0..6);
                let target = format!(
                    "ses_t{other}_{}_{}",
                    round.saturating_sub(1),
                    rng.random_range(0..2)
                );
                // A target another task deleted is not found, and SQLite
                // may give up waiting for its one write lock (the write
                // rolls back); anything else (a deadlock, say) fails.
                let written = |outcome: Result<(), writes::WriteError>| match outcome {
                    Ok(()) | Err(writes::WriteError::NotFound(_)) => {}
                    Err(writes::WriteError::Database(error)) if db::is_unavailable(&error) => {}
                    Err(error) => panic!("task {task} round {round}: {error:?}"),
                };
                match rng.random_range(0..3) {
                    0 => written(
                        writes::delete_subtree(&connection, &access, &target)
                            .await
                            .map(drop),
                    ),
                    1 => {
                        let until =
                            Utc::now() + Duration::milliseconds(rng.random_range(-500..500));
                        if let Err(error) =
                            session_counts::sweep_expired(&connection, ZONES[0], until).await
                        {
                            assert!(
                                db::is_unavailable(&error),
                                "task {task} round {round}: sweep: {error:?}"
                            );
                        }
                    }
                    _ => written(
                        writes::revoke_subtree(&connection, &access, &target)
                            .await
                            .map(drop),
                    ),
                }
                let own_root = format!("ses_t{task}_{round}_root");
                written(
                    writes::revoke_subtree(&connection, &access, &own_root)
                        .await
                        .map(drop),
                );
            }
        });
    }
    futures_util::future::join_all(tasks).await;
    // On PostgreSQL the writes spread their counts over shards; a sweep
    // folds them back into shard 0, changing no sum.
    let spread = || {
        integer(
            &connection,
            "SELECT COUNT(*) FROM session_counts WHERE shard <> 0",
        )
    };
    if test_db.backend == Backend::Sqlite {
        assert_eq!(spread().await, 0, "SQLite keeps every count in shard 0");
    } else {
        // Whatever the writes left spread (a task's last sweep may have
        // folded it all), one count is split over two shards here.
        use sea_orm::ConnectionTrait;
        connection
            .execute_unprepared(&format!(
                "WITH one AS (SELECT * FROM session_counts WHERE zone_id = '{zone}' AND shard = 0 AND total > 1 LIMIT 1), \
                 taken AS (UPDATE session_counts c SET total = c.total - 1 FROM one \
                   WHERE (c.zone_id, c.level, c.application_key, c.user_agent_key, c.organization_key, c.session_type, c.status, c.entry, c.shard) \
                       = (one.zone_id, one.level, one.application_key, one.user_agent_key, one.organization_key, one.session_type, one.status, one.entry, one.shard)) \
                 INSERT INTO session_counts SELECT zone_id, level, application_key, user_agent_key, organization_key, session_type, status, entry, 5, 1 FROM one \
                 ON CONFLICT (zone_id, level, application_key, user_agent_key, organization_key, session_type, status, entry, shard) \
                 DO UPDATE SET total = session_counts.total + 1",
                zone = ZONES[0]
            ))
            .await
            .expect("split a count");
        assert!(spread().await > 0, "no count is spread over shards");
        let criteria = every_session();
        let reads = reads_on(&connection);
        let reader = Reader::new(
            reads.on_primary(),
            Arc::new(Access::unrestricted()),
            Clock::at(Utc::now()),
            Projection::ALL,
        );
        let before = reader
            .session_group_counts(ZONES[0], &criteria, Grouping::EffectiveStatus, None)
            .await
            .expect("kept counts");
        assert!(
            session_counts::sweep_expired(&connection, ZONES[0], Utc::now())
                .await
                .expect("sweep")
        );
        assert_eq!(spread().await, 0, "the sweep left spread counts unfolded");
        let after = reader
            .session_group_counts(ZONES[0], &criteria, Grouping::EffectiveStatus, None)
            .await
            .expect("kept counts");
        assert_eq!(before, after, "folding changed the counts");
    }
    let recounted = session_counts::recount(&connection).await.expect("recount");
    let zone = recounted
        .iter()
        .find(|zone| zone.zone_id == ZONES[0])
        .expect("zone recounted");
    assert!(zone.sessions > 0, "{zone:?}");
    assert_eq!(
        zone.drifted_keys, 0,
        "concurrent writes lost counts: {zone:?}"
    );
}

on_both_databases!(the_migration_counts_the_sessions_already_stored);

/// A database whose sessions were stored before counts were kept: the
/// migration that adds them counts every stored session in one step.
async fn the_migration_counts_the_sessions_already_stored(test_db: TestDb) {
    use sessiongraph_migrations::{Migrator, MigratorTrait};
    let connection = owners_database(&test_db).await;
    let mut run = Run::new(11, 0);
    for _ in 0..6 {
        let document = run.import_document();
        sessiongraph::import::import_text(&connection, &document.to_string())
            .await
            .expect("import");
    }
    // Back to the schema before counts, then forward again.
    Migrator::down(&connection, Some(1))
        .await
        .expect("migrate down");
    Migrator::up(&connection, None).await.expect("migrate up");
    let reads = reads_on(&connection);
    for caller in [
        Arc::new(Access::unrestricted()),
        Arc::new(organization_access()),
    ] {
        let clock = run.instant();
        let reader = Reader::new(
            reads.on_primary(),
            caller,
            Clock::at(clock),
            Projection::ALL,
        );
        for _ in 0..20 {
            let zone = run.rng.random_range(0..ZONES.len());
            let criteria = run.criteria(zone);
            let context = format!("after the migration, at {clock}");
            assert_counts_match(&reader, ZONES[zone], &criteria, |_| None, &context).await;
        }
    }
    let recounted = session_counts::recount(&connection).await.expect("recount");
    assert_eq!(
        recounted.iter().map(|zone| zone.sessions).sum::<i64>() as usize,
        run.sessions.len()
    );
    assert!(
        recounted.iter().all(|zone| zone.drifted_keys == 0),
        "{recounted:?}"
    );
}

on_both_databases!(the_recount_command_reports_each_zone);

async fn the_recount_command_reports_each_zone(test_db: TestDb) {
    let output = import_json(&test_db, &example_document()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let output = sessiongraph(&test_db, &["recount"], None).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(report.contains("sessions, counts exact"), "{report}");
    assert!(
        report
            .trim_end()
            .ends_with("zones recounted, 0 had drifted"),
        "{report}"
    );
}

/// A revoke reads the zone's count mark in its UPDATE's snapshot. When a
/// sweep that moves the revoked session to `expired` commits while the
/// revoke waits for that session's lock, the mark the revoke read is stale:
/// its count upsert finds the mark moved, changes nothing, and the counts
/// are taken again with the mark read afresh. Staged on PostgreSQL with
/// real lock waits: a transaction holding the zone's count rows stops the
/// sweep after it has locked the session, and the revoke queues behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_behind_a_sweep_counts_the_session_as_the_sweep_left_it() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let Some(test_db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let connection = owners_database(&test_db).await;
    let zone = ZONES[0];
    let now = Utc::now();
    let session = format!("ses_behind_sweep_{zone}");
    let document = json!({ "sessions": [{
        "session_type": "user", "id": session, "zone_id": zone, "organization_id": "org_a",
        "user_id": format!("usr_c1_{zone}"), "application_id": format!("app_c1_{zone}"),
        "user_agent_id": format!("ua_c1_{zone}"),
        "created_at": "2026-01-01T00:00:00Z",
        "expires_at": (now + Duration::seconds(60)).to_rfc3339(),
    }]});
    sessiongraph::import::import_text(&connection, &document.to_string())
        .await
        .expect("import");
    let lock_waits = || {
        integer(
            &connection,
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
    };
    let until = |waiting: i64| async move {
        for _ in 0..200 {
            if lock_waits().await >= waiting {
                return;
            }
            tokio::time::sleep(StdDuration::from_millis(10)).await;
        }
        panic!("fewer than {waiting} statements came to wait for a lock");
    };
    // Every count row the sweep could write, in every shard, is held:
    // existing ones locked, missing ones inserted (uncommitted, so the
    // sweep's upsert of the same key waits for them too).
    let holder = connection.begin().await.expect("begin");
    let shards = sessiongraph_migrations::session_counts::SHARDS - 1;
    holder
        .execute_unprepared(&format!(
            "INSERT INTO session_counts (zone_id, level, application_key, user_agent_key, organization_key, session_type, status, entry, shard, total) \
             SELECT c.zone_id, c.level, c.application_key, c.user_agent_key, c.organization_key, c.session_type, classes.status, c.entry, shards.shard, 0 \
             FROM (SELECT DISTINCT zone_id, level, application_key, user_agent_key, organization_key, session_type, entry FROM session_counts WHERE zone_id = '{zone}') c, \
             (VALUES ('active'), ('expired'), ('revoked')) AS classes (status), generate_series(0, {shards}) AS shards (shard) \
             ON CONFLICT DO NOTHING"
        ))
        .await
        .expect("add the zone's missing count rows");
    holder
        .execute_unprepared(&format!(
            "SELECT 1 FROM session_counts WHERE zone_id = '{zone}' FOR UPDATE"
        ))
        .await
        .expect("hold the zone's count rows");
    // Sweeps past the session's expiry: the session becomes `expired`
    // in the counts, though a revoke's clock still finds it active.
    let sweep = session_counts::sweep_expired(&connection, zone, now + Duration::seconds(120));
    let access = Access::unrestricted();
    let revoke = async {
        until(1).await;
        writes::revoke_subtree(&connection, &access, &session).await
    };
    let release = async {
        until(2).await;
        holder.commit().await.expect("release the count rows");
    };
    let (swept, revoked, ()) = tokio::join!(sweep, revoke, release);
    assert!(swept.expect("sweep"), "the sweep gave up waiting");
    let revoked = revoked.expect("revoke");
    assert_eq!(revoked.changed.len(), 1, "the session was revoked");
    let recounted = session_counts::recount(&connection).await.expect("recount");
    assert!(
        recounted.iter().all(|zone| zone.drifted_keys == 0),
        "the revoke counted the session out of a class it was no longer in: {recounted:?}"
    );
}
