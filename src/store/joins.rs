//! To-one relations read in the statement of the sessions they hang off.
//!
//! When a document selects a session's `user`, `application`, `userAgent`
//! or `parent` (and the parent's own, down a chain) beside a page or a
//! lookup, the statement that reads the sessions left-joins those rows in.
//! The request's dataloaders are primed with them, so the resolvers stay as
//! they are and a query's statements still never depend on its rows; there
//! are only fewer of them (the nested page of `bench/`: seven, now two).
//!
//! A joined row meets the same conditions as the loader's own statement
//! would set: the session's zone (already the caller's), the caller's
//! organization, and the request's projection. A session whose relation the
//! join did not find primes the loader with "nothing", which is what the
//! loader would have found.

use std::borrow::Cow;
use std::sync::Arc;

use sea_orm::{DbBackend, DbErr, QueryResult};

use super::decode::{ByPosition, is_null};
use super::keys::{ByZonedId, ZonedId, ZonedIdRef};
use super::projection::Projection;
use super::sql::Sql;
use super::tenancy::push_organization_of;
use super::{SessionRow, Table};
use crate::auth::Access;
use crate::entities::{application, user, user_agent};

/// How many `parent` levels one statement follows; deeper chains load
/// through the dataloader, as before.
pub const MAX_PARENT_LEVELS: usize = 4;

/// Which to-one relations of a session to read with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionJoins {
    pub user: bool,
    pub application: bool,
    pub user_agent: bool,
    /// The parent, and what to read with it.
    pub parent: Option<Box<SessionJoins>>,
}

impl SessionJoins {
    pub fn is_empty(&self) -> bool {
        !self.user && !self.application && !self.user_agent && self.parent.is_none()
    }

    /// Both sets of relations.
    pub fn union(self, other: SessionJoins) -> SessionJoins {
        let parent = match (self.parent, other.parent) {
            (Some(a), Some(b)) => Some(Box::new(a.union(*b))),
            (a, b) => a.or(b),
        };
        SessionJoins {
            user: self.user || other.user,
            application: self.application || other.application,
            user_agent: self.user_agent || other.user_agent,
            parent,
        }
    }
}

/// The records a statement joined in, keyed as their dataloaders key
/// them; `None` where a session names one the caller cannot see.
#[derive(Debug, Default)]
pub struct Related {
    pub users: ByZonedId<Option<Arc<user::Model>>>,
    pub applications: ByZonedId<Option<Arc<application::Model>>>,
    pub user_agents: ByZonedId<Option<Arc<user_agent::Model>>>,
    pub sessions: ByZonedId<Option<Arc<SessionRow>>>,
}

/// One joined table: which session level's foreign key it follows, and
/// where its columns start in the row.
struct Step {
    table: Table,
    from_level: usize,
    offset: usize,
}

/// A statement's joins: its select list, its `LEFT JOIN` clauses, and how
/// to read them back.
pub struct JoinPlan {
    steps: Vec<Step>,
    /// The columns of a row: the base's, then the joined ones.
    columns: usize,
}

impl JoinPlan {
    /// Writes `SELECT base.*, <joined columns> FROM (<base>) base LEFT JOIN
    /// ...`. `base` writes a statement whose rows start with the sessions'
    /// columns and carry `base_columns` columns in all; the caller adds
    /// any `ORDER BY` (over `base.`).
    pub fn push(
        sql: &mut Sql,
        access: &Access,
        projection: &Projection,
        joins: &SessionJoins,
        base_columns: usize,
        base: impl FnOnce(&mut Sql),
    ) -> JoinPlan {
        let mut steps = Vec::new();
        let mut offset = base_columns;
        let mut levels = 1;
        plan(projection, joins, 0, &mut levels, &mut offset, &mut steps);
        sql.push("SELECT base.*");
        for (index, step) in steps.iter().enumerate() {
            sql.push(", ")
                .push(&projection.qualified_select_list(step.table, &alias(index)));
        }
        sql.push(" FROM (");
        base(sql);
        sql.push(") base");
        let mut level_aliases = vec![Cow::Borrowed("base")];
        // PostgreSQL's planner, misjudging how few rows a page has, hashed
        // whole tables for plain joins (Q2's children: a scan of every
        // user, 1.8 ms against 0.6). A lateral lookup with `LIMIT 1` (the
        // key is unique) is never flattened into such a join: it stays one
        // index probe per row. SQLite has no LATERAL, and always probes.
        let lateral = sql.backend() == DbBackend::Postgres;
        for (index, step) in steps.iter().enumerate() {
            let joined = alias(index);
            let from = &level_aliases[step.from_level];
            let foreign_key = foreign_key_column(step.table);
            let table = step.table.name();
            // Pushed piece by piece: formatting each clause first was a
            // twentieth of a point lookup's instructions.
            let qualifier = if lateral {
                sql.push(" LEFT JOIN LATERAL (SELECT * FROM ")
                    .push(table)
                    .push(" WHERE ")
                    .push(table)
                    .push(".zone_id = ")
                    .push(from)
                    .push(".zone_id AND ")
                    .push(table)
                    .push(".id = ")
                    .push(from)
                    .push(".")
                    .push(foreign_key);
                table
            } else {
                sql.push(" LEFT JOIN ")
                    .push(table)
                    .push(" ")
                    .push(&joined)
                    .push(" ON ")
                    .push(&joined)
                    .push(".zone_id = ")
                    .push(from)
                    .push(".zone_id AND ")
                    .push(&joined)
                    .push(".id = ")
                    .push(from)
                    .push(".")
                    .push(foreign_key);
                joined.as_ref()
            };
            push_organization_of(sql, access, step.table.organization_column(), qualifier);
            if lateral {
                sql.push(" LIMIT 1) ").push(&joined).push(" ON TRUE");
            }
            if step.table == Table::Sessions {
                level_aliases.push(joined);
            }
        }
        JoinPlan {
            steps,
            columns: offset,
        }
    }

    /// How many columns a row has: any columns a caller selects after the
    /// joined ones start here.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Makes room in `related` for the records `rows` rows join in (at
    /// most one per row and table), so that its maps are not grown a
    /// doubling at a time, each growth hashing every key again.
    pub fn reserve(&self, related: &mut Related, rows: usize) {
        for step in &self.steps {
            match step.table {
                Table::Users => related.users.reserve(rows),
                Table::Applications => related.applications.reserve(rows),
                Table::UserAgents => related.user_agents.reserve(rows),
                Table::Sessions => related.sessions.reserve(rows),
            }
        }
    }

    /// Reads the joined records of one row, whose session is `session`,
    /// into `related`.
    pub fn read(
        &self,
        result: &QueryResult,
        session: &SessionRow,
        projection: &Projection,
        related: &mut Related,
    ) -> Result<(), DbErr> {
        // The parents read so far: level n is at n - 1; the row's own
        // session is level 0.
        let mut levels: Vec<Option<Arc<SessionRow>>> = Vec::with_capacity(MAX_PARENT_LEVELS);
        for step in &self.steps {
            let from = match step.from_level {
                0 => Some(session),
                level => levels.get(level - 1).and_then(Option::as_deref),
            };
            let key = from.and_then(|from| {
                let id = match step.table {
                    Table::Users => from.user_id.as_deref(),
                    Table::Applications => from.application_id.as_deref(),
                    Table::UserAgents => from.user_agent_id.as_deref(),
                    Table::Sessions => from.parent_id.as_deref(),
                }?;
                Some(ZonedIdRef::new(&from.zone_id, id))
            });
            let Some(key) = key else {
                if step.table == Table::Sessions {
                    levels.push(None);
                }
                continue;
            };
            // The `id` column, never left out, is NULL when nothing joined.
            let found = !is_null(result, step.offset + 1)?;
            let mask = projection.mask(step.table);
            match step.table {
                Table::Users => read_into(&mut related.users, key, found, || {
                    user::Model::from_row_at(result, mask, step.offset)
                })?,
                Table::Applications => read_into(&mut related.applications, key, found, || {
                    application::Model::from_row_at(result, mask, step.offset)
                })?,
                Table::UserAgents => read_into(&mut related.user_agents, key, found, || {
                    user_agent::Model::from_row_at(result, mask, step.offset)
                })?,
                Table::Sessions => {
                    read_into(&mut related.sessions, key, found, || {
                        SessionRow::from_row_at(result, mask, step.offset)
                    })?;
                    levels.push(related.sessions.get(&key).cloned().flatten());
                }
            }
        }
        Ok(())
    }
}

/// Records the joined record of `key`, decoding it (and making its key)
/// only the first time: sessions of one page often share their
/// application or user agent.
fn read_into<R>(
    found_records: &mut ByZonedId<Option<Arc<R>>>,
    key: ZonedIdRef<'_>,
    found: bool,
    decode: impl FnOnce() -> Result<R, DbErr>,
) -> Result<(), DbErr> {
    if found_records.contains_key(&key) {
        return Ok(());
    }
    let record = if found {
        Some(Arc::new(decode()?))
    } else {
        None
    };
    found_records.insert(ZonedId::from(&key), record);
    Ok(())
}

/// The alias of the statement's `index`th joined table.
fn alias(index: usize) -> Cow<'static, str> {
    const ALIASES: [&str; 8] = [
        "joined0", "joined1", "joined2", "joined3", "joined4", "joined5", "joined6", "joined7",
    ];
    match ALIASES.get(index) {
        Some(alias) => Cow::Borrowed(alias),
        None => Cow::Owned(format!("joined{index}")),
    }
}

fn foreign_key_column(table: Table) -> &'static str {
    match table {
        Table::Users => "user_id",
        Table::Applications => "application_id",
        Table::UserAgents => "user_agent_id",
        Table::Sessions => "parent_id",
    }
}

/// The steps of `joins` from session level `level`, in select order: the
/// level's own relations, then its parent (a new level) and the parent's.
fn plan(
    projection: &Projection,
    joins: &SessionJoins,
    level: usize,
    levels: &mut usize,
    offset: &mut usize,
    steps: &mut Vec<Step>,
) {
    for (wanted, table) in [
        (joins.user, Table::Users),
        (joins.application, Table::Applications),
        (joins.user_agent, Table::UserAgents),
    ] {
        if wanted {
            steps.push(Step {
                table,
                from_level: level,
                offset: *offset,
            });
            *offset += projection.width(table);
        }
    }
    if let Some(parent) = &joins.parent {
        steps.push(Step {
            table: Table::Sessions,
            from_level: level,
            offset: *offset,
        });
        *offset += projection.width(Table::Sessions);
        let parent_level = *levels;
        *levels += 1;
        plan(projection, parent, parent_level, levels, offset, steps);
    }
}
