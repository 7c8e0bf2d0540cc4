//! A deterministic synthetic dataset of realistic shape: the same options
//! and seed always give the same records, byte for byte.
//!
//! Times are laid out around a fixed anchor rather than "now" so that the
//! output never changes; long-lived sessions expire years after the anchor,
//! short-lived ones have already expired while still stored as active.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::dataset::{
    Application, ApplicationMetadata, ApplicationProtocols, Dataset, OAuth2Protocol, Session,
    SessionMetadata, User, UserAgent,
};
use crate::entities::enums::{OwnerType, SessionType, StoredStatus};

/// Deepest level a generated tree reaches (roots are depth 0).
pub const MAX_DEPTH: i32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedOptions {
    pub seed: u64,
    pub zones: usize,
    pub users: usize,
    pub applications: usize,
    pub user_agents: usize,
    pub sessions: usize,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            seed: 42,
            zones: 1,
            users: 10_000,
            applications: 200,
            user_agents: 500,
            sessions: 100_000,
        }
    }
}

impl SeedOptions {
    /// The small dataset a fresh embedded database starts with.
    pub fn demo() -> Self {
        SeedOptions {
            seed: 7,
            zones: 1,
            users: 12,
            applications: 5,
            user_agents: 6,
            sessions: 120,
        }
    }
}

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

pub fn zone_id(zone: usize) -> String {
    format!("zone_{:03}", zone + 1)
}

fn organization_id(zone: usize) -> String {
    format!("org_{:03}", zone + 1)
}

const APP_WORDS: &[&str] = &[
    "billing",
    "dashboard",
    "console",
    "reports",
    "payroll",
    "inbox",
    "crm",
    "wiki",
    "tickets",
    "analytics",
    "deploy",
    "vault",
    "calendar",
    "forms",
    "search",
    "chat",
];
const AGENT_NAMES: &[&str] = &[
    "Chrome 131 on macOS",
    "Firefox 133 on Linux",
    "Safari 18 on iOS",
    "Edge 131 on Windows",
    "Acme CLI 2.4",
    "Acme Desktop 5.1",
    "Android App 8.2",
    "iOS App 8.3",
    "Terraform Provider 1.9",
];
const FIRST_NAMES: &[&str] = &[
    "ada",
    "grace",
    "alan",
    "edsger",
    "barbara",
    "ken",
    "margaret",
    "linus",
    "radia",
    "donald",
    "frances",
    "john",
    "katherine",
    "niklaus",
    "sophie",
    "tim",
];

struct Generator {
    rng: ChaCha8Rng,
    ids: HashSet<String>,
}

impl Generator {
    /// A random id with the kind's prefix, never repeated within a dataset.
    fn id(&mut self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}_{:012x}", self.rng.random::<u64>() >> 16);
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn before_anchor(&mut self, max_days: i64) -> DateTime<Utc> {
        let seconds = self.rng.random_range(0..max_days * 86_400);
        let micros = self.rng.random_range(0..4) * 250_000; // some fractional seconds
        anchor() - Duration::seconds(seconds) + Duration::microseconds(micros)
    }
}

pub fn generate(options: &SeedOptions) -> Dataset {
    let mut g = Generator {
        rng: ChaCha8Rng::seed_from_u64(options.seed),
        ids: HashSet::new(),
    };
    let zones = options.zones.max(1);
    let mut dataset = Dataset::default();

    for n in 0..options.applications {
        let zone = n % zones;
        let word = *g.pick(APP_WORDS);
        let slug = format!("{word}-{}", n / zones + 1);
        let id = g.id("app");
        let created_at = g.before_anchor(720);
        let with_oauth = g.rng.random_bool(0.8);
        dataset.applications.push(Application {
            id,
            zone_id: zone_id(zone),
            organization_id: organization_id(zone),
            created_at,
            updated_at: created_at + Duration::days(g.rng.random_range(0..30)),
            dependencies_count: g.rng.random_range(0..12),
            identifier: slug.clone(),
            name: format!(
                "{}{} {}",
                &word[..1].to_uppercase(),
                &word[1..],
                n / zones + 1
            ),
            owner_type: if g.rng.random_bool(0.2) {
                OwnerType::Platform
            } else {
                OwnerType::Customer
            },
            description: g
                .rng
                .random_bool(0.7)
                .then(|| format!("The {word} application")),
            metadata: g.rng.random_bool(0.5).then(|| ApplicationMetadata {
                docs_url: Some(format!("https://docs.example.com/{slug}")),
            }),
            protocols: with_oauth.then(|| ApplicationProtocols {
                oauth2: Some(OAuth2Protocol {
                    redirect_uris: Some(vec![format!("https://{slug}.example.com/callback")]),
                    post_logout_redirect_uris: Some(vec![format!("https://{slug}.example.com/")]),
                }),
            }),
            slug,
        });
    }

    for n in 0..options.users {
        let zone = n % zones;
        let first = *g.pick(FIRST_NAMES);
        let id = g.id("usr");
        let created_at = g.before_anchor(720);
        let federated = g.rng.random_bool(0.6);
        dataset.users.push(User {
            zone_id: zone_id(zone),
            organization_id: organization_id(zone),
            created_at,
            updated_at: created_at + Duration::days(g.rng.random_range(0..60)),
            email: format!("{first}.{}@example.com", n + 1),
            email_verified: g.rng.random_bool(0.9),
            authenticated_at: g.rng.random_bool(0.85).then(|| g.before_anchor(30)),
            issuer: federated.then(|| "https://idp.example.com".to_owned()),
            provider_id: federated.then(|| "prv_okta".to_owned()),
            subject: federated.then(|| format!("00u{}", &id[4..])),
            id,
        });
    }

    for n in 0..options.user_agents {
        let zone = n % zones;
        let name = *g.pick(AGENT_NAMES);
        let created_at = g.before_anchor(720);
        let digest = Sha256::digest(format!("{name}/{n}").as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let slug_base: String = name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        dataset.user_agents.push(UserAgent {
            id: g.id("ua"),
            zone_id: zone_id(zone),
            organization_id: organization_id(zone),
            created_at,
            updated_at: created_at,
            identifier: format!("ua:{hex}"),
            name: name.to_owned(),
            slug: format!("{slug_base}-{}", n / zones + 1),
        });
    }

    generate_sessions(&mut g, options, zones, &mut dataset);
    dataset
}

/// Sessions per zone: about 10% application sessions, the rest user-session
/// trees that token refresh and delegation grow up to [`MAX_DEPTH`].
fn generate_sessions(
    g: &mut Generator,
    options: &SeedOptions,
    zones: usize,
    dataset: &mut Dataset,
) {
    let by_zone = |n: usize, len: usize| (0..len).filter(move |i| i % zones == n);
    // (index in dataset.sessions, depth, index in dataset.users) of user
    // sessions that can still take children.
    let mut open_parents: Vec<Vec<(usize, i32, usize)>> = vec![Vec::new(); zones];
    let users: Vec<Vec<usize>> = (0..zones)
        .map(|z| by_zone(z, dataset.users.len()).collect())
        .collect();
    let apps: Vec<Vec<usize>> = (0..zones)
        .map(|z| by_zone(z, dataset.applications.len()).collect())
        .collect();
    let agents: Vec<Vec<usize>> = (0..zones)
        .map(|z| by_zone(z, dataset.user_agents.len()).collect())
        .collect();

    for n in 0..options.sessions {
        let zone = n % zones;
        let id = g.id("ses");
        let application_session = g.rng.random_bool(0.1) || users[zone].is_empty();
        if application_session {
            if apps[zone].is_empty() {
                continue;
            }
            let app = &dataset.applications[*g.pick(&apps[zone])];
            let created_at = g.before_anchor(60);
            let (status, expires_at) = lifecycle(g, created_at);
            let mut claims = Map::new();
            claims.insert("client_id".into(), json!(app.identifier));
            claims.insert("scope".into(), json!("sessions:read"));
            dataset.sessions.push(Session {
                session_type: SessionType::Application,
                id,
                zone_id: zone_id(zone),
                status,
                organization_id: Some(organization_id(zone)),
                application_id: Some(app.id.clone()),
                user_id: None,
                user_agent_id: None,
                parent_id: None,
                authenticated_at: Some(created_at),
                created_at: Some(created_at),
                updated_at: Some(created_at),
                expires_at,
                issuer: Some("https://idp.example.com".into()),
                subject: Some(app.identifier.clone()),
                provider_id: None,
                metadata: Some(SessionMetadata {
                    name: app.name.clone(),
                }),
                session_data: Some(claims),
            });
            continue;
        }

        // Children come from refresh and delegation: a new session hangs
        // under an existing open one about 60% of the time.
        let parent = if !open_parents[zone].is_empty() && g.rng.random_bool(0.6) {
            let slot = g.rng.random_range(0..open_parents[zone].len());
            Some(open_parents[zone][slot])
        } else {
            None
        };
        let (user_index, depth, parent_id, parent_created) = match parent {
            Some((p, depth, user)) => {
                let parent = &dataset.sessions[p];
                (user, depth + 1, Some(parent.id.clone()), parent.created_at)
            }
            None => (*g.pick(&users[zone]), 0, None, None),
        };
        let user = &dataset.users[user_index];
        let created_at = match parent_created {
            Some(at) => at + Duration::seconds(g.rng.random_range(1..3_600)),
            None => g.before_anchor(60),
        };
        let (status, expires_at) = lifecycle(g, created_at);
        let application = (depth > 0 || g.rng.random_bool(0.3))
            .then(|| apps[zone].first().map(|_| *g.pick(&apps[zone])))
            .flatten()
            .map(|a| &dataset.applications[a]);
        let agent = (depth == 0 || g.rng.random_bool(0.2))
            .then(|| agents[zone].first().map(|_| *g.pick(&agents[zone])))
            .flatten()
            .map(|a| &dataset.user_agents[a]);
        let amr: Value = if g.rng.random_bool(0.4) {
            json!(["pwd", "otp"])
        } else {
            json!(["pwd"])
        };
        let mut claims = Map::new();
        claims.insert(
            "sub".into(),
            json!(user.subject.clone().unwrap_or_else(|| user.id.clone())),
        );
        claims.insert("email".into(), json!(user.email));
        claims.insert("amr".into(), amr);
        claims.insert("iat".into(), json!(created_at.timestamp()));
        let name = application
            .map(|a| a.name.clone())
            .or_else(|| agent.map(|a| a.name.clone()));
        dataset.sessions.push(Session {
            session_type: SessionType::User,
            id,
            zone_id: zone_id(zone),
            status,
            organization_id: Some(organization_id(zone)),
            application_id: application.map(|a| a.id.clone()),
            user_id: Some(user.id.clone()),
            user_agent_id: agent.map(|a| a.id.clone()),
            parent_id,
            authenticated_at: Some(created_at - Duration::seconds(2)),
            created_at: Some(created_at),
            updated_at: g.rng.random_bool(0.5).then_some(created_at),
            expires_at,
            issuer: user.issuer.clone(),
            subject: user.subject.clone(),
            provider_id: user.provider_id.clone(),
            metadata: name.map(|name| SessionMetadata { name }),
            session_data: Some(claims),
        });
        if depth < MAX_DEPTH {
            open_parents[zone].push((dataset.sessions.len() - 1, depth, user_index));
        }
    }
}

/// Stored status and expiry: most sessions are active and long-lived; some
/// are stored active but already past their expiry (they read EXPIRED); the
/// rest were expired or revoked by the platform.
fn lifecycle(
    g: &mut Generator,
    created_at: DateTime<Utc>,
) -> (StoredStatus, Option<DateTime<Utc>>) {
    let roll = g.rng.random_range(0..100);
    match roll {
        0..=59 => (
            StoredStatus::Active,
            Some(anchor() + Duration::days(g.rng.random_range(700..1_800))),
        ),
        60..=64 => (StoredStatus::Active, None),
        65..=79 => (StoredStatus::Active, Some(created_at + Duration::hours(1))),
        80..=89 => (
            StoredStatus::Expired,
            Some(created_at + Duration::hours(12)),
        ),
        _ => (StoredStatus::Revoked, Some(created_at + Duration::days(30))),
    }
}
