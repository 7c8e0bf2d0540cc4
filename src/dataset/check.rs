//! Rules that need the whole document and the database: unique ids, kinds and
//! zones that may not change, references, per-zone uniqueness and parent
//! cycles. The result is a [`Plan`]: where each session sits in its tree.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DbErr};

use super::error::{ImportError, ImportErrors};
use super::records::Dataset;
use crate::entities::enums::SessionType;
use crate::entities::{application, session, user, user_agent};
use crate::store::import::{
    LOOKUP_CHUNK, applications_holding, has_rows, stored_sessions, stored_zones,
    user_agents_holding,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Application,
    User,
    UserAgent,
    UserSession,
    ApplicationSession,
}

impl Kind {
    fn described(self) -> &'static str {
        match self {
            Kind::Application => "an application",
            Kind::User => "a user",
            Kind::UserAgent => "a user agent",
            Kind::UserSession => "a user session",
            Kind::ApplicationSession => "an application session",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Application => "application",
            Kind::User => "user",
            Kind::UserAgent => "user agent",
            Kind::UserSession => "user session",
            Kind::ApplicationSession => "application session",
        }
    }

    fn of_session(session_type: SessionType) -> Kind {
        match session_type {
            SessionType::User => Kind::UserSession,
            SessionType::Application => Kind::ApplicationSession,
        }
    }
}

/// Where each session goes: its tree position, and stored subtrees whose
/// positions must be refreshed because an ancestor moved.
#[derive(Debug, Default)]
pub struct Plan {
    /// `(index into dataset.sessions, root_id, depth)`, parents before children.
    pub sessions: Vec<(usize, String, i32)>,
    /// `(zone_id, session id)` of re-imported sessions whose position changed.
    pub moved: Vec<(String, String)>,
    /// Ids of the document's sessions that are stored already: the import
    /// updates them rather than creating them.
    pub stored_sessions: HashSet<String>,
}

#[derive(Debug, Clone)]
struct Stored {
    kind: Kind,
    zone_id: String,
    parent_id: Option<String>,
    root_id: Option<String>,
    depth: i32,
}

struct InDocument<'a> {
    kind: Kind,
    zone_id: &'a str,
    array: &'static str,
    index: usize,
}

fn error(array: &'static str, index: usize, id: &str, field: &str, message: String) -> ImportError {
    ImportError {
        array,
        index: Some(index),
        id: Some(id.to_owned()),
        field: Some(field.to_owned()),
        message,
    }
}

/// Records a document id, or an error when an earlier record already has it.
fn note<'a>(
    document: &mut HashMap<&'a str, InDocument<'a>>,
    errors: &mut ImportErrors,
    id: &'a str,
    kind: Kind,
    zone_id: &'a str,
    array: &'static str,
    index: usize,
) {
    if let Some(first) = document.get(id) {
        errors.push(error(
            array,
            index,
            id,
            "id",
            format!(
                "id is also used by {}[{}]; ids are unique across all records",
                first.array, first.index
            ),
        ));
    } else {
        document.insert(
            id,
            InDocument {
                kind,
                zone_id,
                array,
                index,
            },
        );
    }
}

pub async fn check(
    db: &impl ConnectionTrait,
    dataset: &Dataset,
) -> Result<Result<Plan, ImportErrors>, DbErr> {
    let mut errors = ImportErrors::default();

    // Every record of the document by id; later duplicates are errors.
    let mut document: HashMap<&str, InDocument> = HashMap::with_capacity(dataset.record_count());
    for (i, a) in dataset.applications.iter().enumerate() {
        note(
            &mut document,
            &mut errors,
            &a.id,
            Kind::Application,
            &a.zone_id,
            "applications",
            i,
        );
    }
    for (i, u) in dataset.users.iter().enumerate() {
        note(
            &mut document,
            &mut errors,
            &u.id,
            Kind::User,
            &u.zone_id,
            "users",
            i,
        );
    }
    for (i, u) in dataset.user_agents.iter().enumerate() {
        note(
            &mut document,
            &mut errors,
            &u.id,
            Kind::UserAgent,
            &u.zone_id,
            "user_agents",
            i,
        );
    }
    for (i, s) in dataset.sessions.iter().enumerate() {
        note(
            &mut document,
            &mut errors,
            &s.id,
            Kind::of_session(s.session_type),
            &s.zone_id,
            "sessions",
            i,
        );
    }

    // What the database already holds for every id the document names.
    let mut wanted: Vec<&str> = document.keys().copied().collect();
    for s in &dataset.sessions {
        for reference in [
            &s.application_id,
            &s.user_id,
            &s.user_agent_id,
            &s.parent_id,
        ]
        .into_iter()
        .flatten()
        {
            if !document.contains_key(reference.as_str()) {
                wanted.push(reference);
            }
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut stored = load_stored(db, &wanted).await?;
    load_stored_ancestors(db, &document, &mut stored).await?;

    // A re-import may replace a record but not change its kind or zone.
    for (id, doc) in &document {
        if let Some(old) = stored.get(*id) {
            if old.kind != doc.kind {
                errors.push(error(
                    doc.array,
                    doc.index,
                    id,
                    "id",
                    format!(
                        "{id} is already stored as {}; an import may not change a record's kind",
                        old.kind.described()
                    ),
                ));
            } else if old.zone_id != doc.zone_id {
                errors.push(error(
                    doc.array,
                    doc.index,
                    id,
                    "zone_id",
                    format!("{id} is stored in zone {}; an import may not move a record to another zone", old.zone_id),
                ));
            }
        }
    }

    // References resolve to a record of the right kind in the same zone.
    let resolve = |reference: &str, expected: Kind, zone_id: &str| -> Result<(), String> {
        let (kind, found_zone) = match document.get(reference) {
            Some(doc) => (doc.kind, doc.zone_id),
            None => match stored.get(reference) {
                Some(old) => (old.kind, old.zone_id.as_str()),
                None => {
                    return Err(format!(
                        "no {} {reference} in the document or the database",
                        expected.noun()
                    ));
                }
            },
        };
        if kind != expected {
            Err(format!(
                "{reference} is {}, not {}",
                kind.described(),
                expected.described()
            ))
        } else if found_zone != zone_id {
            Err(format!(
                "{} {reference} is in zone {found_zone}, not zone {zone_id}",
                expected.noun()
            ))
        } else {
            Ok(())
        }
    };
    for (i, s) in dataset.sessions.iter().enumerate() {
        let references = [
            ("application_id", &s.application_id, Kind::Application),
            ("user_id", &s.user_id, Kind::User),
            ("user_agent_id", &s.user_agent_id, Kind::UserAgent),
            ("parent_id", &s.parent_id, Kind::UserSession),
        ];
        for (field, reference, kind) in references {
            if let Some(reference) = reference
                && let Err(message) = resolve(reference, kind, &s.zone_id)
            {
                errors.push(error("sessions", i, &s.id, field, message));
            }
        }
    }

    check_unique_per_zone(db, dataset, &document, &mut errors).await?;

    let plan = plan_trees(dataset, &stored, &mut errors);
    Ok(if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    })
}

async fn load_stored(
    db: &impl ConnectionTrait,
    ids: &[&str],
) -> Result<HashMap<String, Stored>, DbErr> {
    let mut stored = HashMap::new();
    let plain = |kind, zone_id| Stored {
        kind,
        zone_id,
        parent_id: None,
        root_id: None,
        depth: 0,
    };
    if has_rows::<application::Entity>(db, application::Column::Id).await? {
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let rows = stored_zones::<application::Entity>(
                db,
                application::Column::Id,
                application::Column::ZoneId,
                chunk,
            )
            .await?;
            stored.extend(
                rows.into_iter()
                    .map(|(id, zone)| (id, plain(Kind::Application, zone))),
            );
        }
    }
    if has_rows::<user::Entity>(db, user::Column::Id).await? {
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let rows =
                stored_zones::<user::Entity>(db, user::Column::Id, user::Column::ZoneId, chunk)
                    .await?;
            stored.extend(
                rows.into_iter()
                    .map(|(id, zone)| (id, plain(Kind::User, zone))),
            );
        }
    }
    if has_rows::<user_agent::Entity>(db, user_agent::Column::Id).await? {
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let rows = stored_zones::<user_agent::Entity>(
                db,
                user_agent::Column::Id,
                user_agent::Column::ZoneId,
                chunk,
            )
            .await?;
            stored.extend(
                rows.into_iter()
                    .map(|(id, zone)| (id, plain(Kind::UserAgent, zone))),
            );
        }
    }
    if has_rows::<session::Entity>(db, session::Column::Id).await? {
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            load_sessions(db, chunk, &mut stored).await?;
        }
    }
    Ok(stored)
}

async fn load_sessions(
    db: &impl ConnectionTrait,
    ids: &[&str],
    stored: &mut HashMap<String, Stored>,
) -> Result<(), DbErr> {
    for session in stored_sessions(db, ids).await? {
        stored.insert(
            session.id,
            Stored {
                kind: Kind::of_session(session.session_type),
                zone_id: session.zone_id,
                parent_id: session.parent_id,
                root_id: Some(session.root_id),
                depth: session.depth,
            },
        );
    }
    Ok(())
}

/// Loads stored ancestors of stored sessions until every chain is known, so
/// a re-import that re-parents a session can be checked for cycles through
/// records it does not mention.
async fn load_stored_ancestors(
    db: &impl ConnectionTrait,
    document: &HashMap<&str, InDocument<'_>>,
    stored: &mut HashMap<String, Stored>,
) -> Result<(), DbErr> {
    loop {
        let missing: Vec<String> = stored
            .values()
            .filter_map(|s| s.parent_id.as_ref())
            .filter(|p| !stored.contains_key(p.as_str()) && !document.contains_key(p.as_str()))
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let before = stored.len();
        for chunk in missing.chunks(LOOKUP_CHUNK) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            load_sessions(db, &chunk, stored).await?;
        }
        if stored.len() == before {
            return Ok(()); // dangling stored parents cannot exist (foreign key); stop regardless
        }
    }
}

/// A value that must be unique within its zone, as one record claims it.
#[derive(Clone, Copy)]
struct UniqueClaim<'a> {
    array: &'static str,
    field: &'static str,
    index: usize,
    id: &'a str,
    zone: &'a str,
    value: &'a str,
}

async fn check_unique_per_zone(
    db: &impl ConnectionTrait,
    dataset: &Dataset,
    document: &HashMap<&str, InDocument<'_>>,
    errors: &mut ImportErrors,
) -> Result<(), DbErr> {
    let mut claims: Vec<UniqueClaim> = Vec::new();
    for (index, a) in dataset.applications.iter().enumerate() {
        let claim = |field, value| UniqueClaim {
            array: "applications",
            field,
            index,
            id: &a.id,
            zone: &a.zone_id,
            value,
        };
        claims.push(claim("identifier", &a.identifier));
        claims.push(claim("slug", &a.slug));
    }
    for (index, u) in dataset.user_agents.iter().enumerate() {
        claims.push(UniqueClaim {
            array: "user_agents",
            field: "slug",
            index,
            id: &u.id,
            zone: &u.zone_id,
            value: &u.slug,
        });
    }

    // Within the document.
    let mut first_use: HashMap<(&str, &str, &str, &str), UniqueClaim> = HashMap::new();
    for c in &claims {
        match first_use.get(&(c.array, c.field, c.zone, c.value)) {
            Some(first) => errors.push(error(
                c.array,
                c.index,
                c.id,
                c.field,
                format!(
                    "{:?} is also the {} of {}[{}] ({}) in zone {}",
                    c.value, c.field, c.array, first.index, first.id, c.zone
                ),
            )),
            None => {
                first_use.insert((c.array, c.field, c.zone, c.value), *c);
            }
        }
    }

    // Against stored records the document does not replace.
    let mut by_zone: HashMap<&str, Vec<UniqueClaim>> = HashMap::new();
    for c in &claims {
        by_zone.entry(c.zone).or_default().push(*c);
    }
    for (zone, claims) in by_zone {
        let values_of = |array: &str| -> Vec<&str> {
            claims
                .iter()
                .filter(|c| c.array == array)
                .map(|c| c.value)
                .collect()
        };
        let mut taken: HashMap<(&'static str, &'static str, String), String> = HashMap::new();
        for chunk in values_of("applications").chunks(LOOKUP_CHUNK) {
            let rows = applications_holding(db, zone, chunk).await?;
            for (id, identifier, slug) in rows {
                taken.insert(("applications", "identifier", identifier), id.clone());
                taken.insert(("applications", "slug", slug), id);
            }
        }
        for chunk in values_of("user_agents").chunks(LOOKUP_CHUNK) {
            let rows = user_agents_holding(db, zone, chunk).await?;
            for (id, slug) in rows {
                taken.insert(("user_agents", "slug", slug), id);
            }
        }
        for c in &claims {
            if let Some(holder) = taken.get(&(c.array, c.field, c.value.to_owned()))
                && holder != c.id
                && !document.contains_key(holder.as_str())
            {
                errors.push(error(
                    c.array,
                    c.index,
                    c.id,
                    c.field,
                    format!(
                        "{:?} is already the {} of {holder}, stored in zone {zone}",
                        c.value, c.field
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Depth and root of every session in the document, following parents
/// through the document first and the database second, and reporting cycles.
fn plan_trees(
    dataset: &Dataset,
    stored: &HashMap<String, Stored>,
    errors: &mut ImportErrors,
) -> Plan {
    let in_document: HashMap<&str, usize> = dataset
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let parent_of = |id: &str| -> Option<&str> {
        match in_document.get(id) {
            Some(&i) => dataset.sessions[i].parent_id.as_deref(),
            None => stored.get(id).and_then(|s| s.parent_id.as_deref()),
        }
    };
    let exists = |id: &str| in_document.contains_key(id) || stored.contains_key(id);

    // Resolved `(root, depth)` per id; `None` marks ids on or behind a cycle.
    let mut resolved: HashMap<&str, Option<(String, i32)>> = HashMap::new();
    for session in &dataset.sessions {
        let mut path: Vec<&str> = Vec::new();
        let mut on_path: HashSet<&str> = HashSet::new();
        let mut current = session.id.as_str();
        let base: Option<(String, i32)> = loop {
            if let Some(known) = resolved.get(current) {
                break known.clone();
            }
            if !on_path.insert(current) {
                // A cycle: report it on every document session that is part of it.
                let start = path.iter().position(|id| *id == current).unwrap_or(0);
                let cycle = &path[start..];
                let mut shown: Vec<&str> = cycle.to_vec();
                shown.push(current);
                for id in cycle {
                    if let Some(&i) = in_document.get(id) {
                        errors.push(error(
                            "sessions",
                            i,
                            id,
                            "parent_id",
                            format!("parent chain forms a cycle: {}", shown.join(" → ")),
                        ));
                    }
                }
                break None;
            }
            path.push(current);
            match parent_of(current) {
                Some(parent) if exists(parent) => current = parent,
                // No parent, or a dangling one (already reported): a root.
                _ => break Some((current.to_owned(), -1)),
            }
        };
        // Walk back down the path assigning positions.
        let mut position = base;
        for id in path.iter().rev() {
            position = position.map(|(root, depth)| (root, depth + 1));
            resolved.insert(id, position.clone());
        }
    }

    let mut plan = Plan::default();
    for (i, s) in dataset.sessions.iter().enumerate() {
        if let Some(Some((root, depth))) = resolved.get(s.id.as_str()) {
            if let Some(old) = stored.get(&s.id) {
                plan.stored_sessions.insert(s.id.clone());
                if old.depth != *depth || old.root_id.as_deref() != Some(root.as_str()) {
                    plan.moved.push((s.zone_id.clone(), s.id.clone()));
                }
            }
            plan.sessions.push((i, root.clone(), *depth));
        }
    }
    plan.sessions.sort_by_key(|&(_, _, depth)| depth);
    plan
}
