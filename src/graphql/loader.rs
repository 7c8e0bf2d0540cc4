//! Batched loading for every relation field. One [`Loaders`] lives per
//! request (created by `graphql::execute`), so nothing is shared or cached
//! across requests; each key type below is one SQL statement per batch.

use std::hash::Hash;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement};

use super::batching::{Batcher, IdleSignal, Load};
use super::pagination::Page;
use super::projection::{Projection, Table};
use super::session_lists::{Criteria, ListArgs, Owner, count_statement, page_statement};
use super::session_row::SessionRow;
use super::session_trees::{
    TreeOwner, ancestors_statement, descendant_count_statement, descendant_page_statement,
};
use super::sql::Sql;
use super::tenancy::{OrganizationColumn, push_organization};
use crate::auth::Access;
use crate::entities::by_position::ByPosition;
use crate::entities::{application, user, user_agent};

pub struct Loader {
    pub db: DatabaseConnection,
    /// The caller's zones and organization, added to every statement.
    pub access: Arc<Access>,
    /// The instant effective statuses are judged at, fixed per request.
    pub now: DateTime<Utc>,
    /// The columns the request's fields read.
    pub projection: Projection,
}

pub type LoadError = Arc<DbErr>;

/// A record addressed the way every table is keyed: zone first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZonedId {
    pub zone_id: String,
    pub id: String,
}

macro_rules! zoned_key {
    ($name:ident) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(pub ZonedId);

        impl $name {
            pub fn new(zone_id: &str, id: &str) -> Self {
                $name(ZonedId {
                    zone_id: zone_id.to_owned(),
                    id: id.to_owned(),
                })
            }
        }
    };
}

zoned_key!(UserKey);
zoned_key!(ApplicationKey);
zoned_key!(UserAgentKey);
zoned_key!(SessionKey);

/// Groups keys by zone so each statement stays within one zone (SPEC §4).
/// Keys of zones outside the caller's access are dropped unread: they load
/// as missing.
fn by_zone<'a>(
    keys: impl Iterator<Item = &'a ZonedId>,
    access: &Access,
) -> HashMap<&'a str, Vec<String>> {
    let mut groups: HashMap<&str, Vec<String>> = HashMap::default();
    for key in keys.filter(|key| access.permits_zone(&key.zone_id)) {
        groups.entry(&key.zone_id).or_default().push(key.id.clone());
    }
    groups
}

/// Records of one zone by id, within the caller's organization: the one
/// statement shape every entity batch runs, written out rather than built
/// with SeaORM's query builder per batch (2% of a nested query's CPU).
fn by_id_statement(
    backend: DbBackend,
    access: &Access,
    table: &str,
    columns: &str,
    organization: OrganizationColumn,
    zone_id: &str,
    ids: &[String],
) -> Statement {
    let mut sql = Sql::new(backend);
    sql.push(&format!("SELECT {columns} FROM {table} WHERE zone_id = "))
        .bind(zone_id.to_owned());
    push_organization(&mut sql, access, organization);
    sql.push(" AND id IN ").bind_list(ids.iter().cloned());
    sql.build()
}

macro_rules! entity_loader {
    ($key:ident, $row:ty, $table:literal, $columns_of:expr, $organization:expr) => {
        impl Load<$key> for Loader {
            /// Shared: every field that asked for the record gets the same one.
            type Value = Arc<$row>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, LoadError> {
                let columns = self.projection.select_list($columns_of);
                let backend = self.db.get_database_backend();
                let mut found = HashMap::with_capacity_and_hasher(keys.len(), Default::default());
                for (zone_id, ids) in by_zone(keys.iter().map(|k| &k.0), &self.access) {
                    let statement = by_id_statement(
                        backend,
                        &self.access,
                        $table,
                        &columns,
                        $organization,
                        zone_id,
                        &ids,
                    );
                    for result in self.db.query_all_raw(statement).await? {
                        let row = <$row>::from_row(&result)?;
                        found.insert($key::new(&row.zone_id, &row.id), Arc::new(row));
                    }
                }
                Ok(found)
            }
        }
    };
}

entity_loader!(
    UserKey,
    user::Model,
    "users",
    Table::Users,
    OrganizationColumn::Required
);
entity_loader!(
    ApplicationKey,
    application::Model,
    "applications",
    Table::Applications,
    OrganizationColumn::Required
);
entity_loader!(
    UserAgentKey,
    user_agent::Model,
    "user_agents",
    Table::UserAgents,
    OrganizationColumn::Required
);
entity_loader!(
    SessionKey,
    SessionRow,
    "sessions",
    Table::Sessions,
    OrganizationColumn::Nullable
);

/// One owner's page of a session connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionPageKey {
    pub zone_id: String,
    pub owner: Owner,
    pub owner_id: String,
    pub args: Arc<ListArgs>,
    /// Also count the owner's whole list in the same statement (see
    /// [`page_statement`]); only for per-owner pages without cursors.
    pub with_total: bool,
    /// For descendants: the owner is the root of its tree.
    pub owner_is_root: bool,
}

/// A session page and, when its key asked for it, the whole list's count.
#[derive(Debug, Clone)]
pub struct SessionPage {
    pub page: Page<Arc<SessionRow>>,
    pub total: Option<i64>,
}

/// One owner's `totalCount` of a session connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionCountKey {
    pub zone_id: String,
    pub owner: Owner,
    pub owner_id: String,
    pub criteria: Arc<Criteria>,
    /// For descendants: the owner is the root of its tree.
    pub owner_is_root: bool,
}

/// The ancestors of one session, root first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AncestorsKey(pub ZonedId);

fn group<K, G: Hash + Eq + Clone>(keys: &[K], by: impl Fn(&K) -> G) -> HashMap<G, Vec<&K>> {
    let mut groups: HashMap<G, Vec<&K>> = HashMap::default();
    for key in keys {
        groups.entry(by(key)).or_default().push(key);
    }
    groups
}

fn owner_of(owner: Owner, row: &SessionRow) -> Option<&str> {
    match owner {
        Owner::Zone => Some(""),
        Owner::Parent => row.parent_id.as_deref(),
        Owner::User => row.user_id.as_deref(),
        Owner::Application => row.application_id.as_deref(),
        Owner::UserAgent => row.user_agent_id.as_deref(),
        // Rows of a descendants page carry their owner in a column of its own.
        Owner::Ancestor => None,
    }
}

fn tree_owners<'a>(keys: impl Iterator<Item = (&'a String, bool)>) -> Vec<TreeOwner> {
    keys.map(|(id, is_root)| TreeOwner {
        id: id.clone(),
        is_root,
    })
    .collect()
}

impl Load<SessionPageKey> for Loader {
    /// Shared: every field of a connection (`nodes`, `edges`, `pageInfo`,
    /// `totalCount`) reads the same page, and the loader hands each a copy.
    type Value = Arc<SessionPage>;

    async fn load(
        &self,
        keys: &[SessionPageKey],
    ) -> Result<HashMap<SessionPageKey, Self::Value>, LoadError> {
        let backend = self.db.get_database_backend();
        let columns = self.projection.select_list(Table::Sessions);
        let mut pages = HashMap::with_capacity_and_hasher(keys.len(), Default::default());
        let groups = group(keys, |k| {
            (k.zone_id.clone(), k.owner, k.args.clone(), k.with_total)
        });
        for ((zone_id, owner, args, with_total), keys) in groups {
            let owners: Vec<String> = keys.iter().map(|k| k.owner_id.clone()).collect();
            // Zones outside the caller's access read as empty lists.
            let statement = self.access.permits_zone(&zone_id).then(|| match owner {
                Owner::Ancestor => descendant_page_statement(
                    backend,
                    &self.access,
                    &columns,
                    &zone_id,
                    &tree_owners(keys.iter().map(|k| (&k.owner_id, k.owner_is_root))),
                    &args,
                    self.now,
                ),
                _ => page_statement(
                    backend,
                    &self.access,
                    &columns,
                    &zone_id,
                    owner,
                    &owners,
                    &args,
                    with_total,
                    self.now,
                ),
            });
            let mut per_owner: HashMap<String, (Vec<Arc<SessionRow>>, i64)> = HashMap::default();
            let rows = match statement {
                Some(statement) => self.db.query_all_raw(statement).await?,
                None => Vec::new(),
            };
            for result in rows {
                let row = SessionRow::from_row(&result)?;
                let total = if with_total {
                    // The count follows the session's columns.
                    result.try_get_by_index::<i64>(SessionRow::COLUMNS)?
                } else {
                    0
                };
                let owner_id = match owner {
                    // So does a descendant's owner.
                    Owner::Ancestor => result.try_get_by_index::<String>(SessionRow::COLUMNS)?,
                    _ => match owner_of(owner, &row) {
                        Some(owner_id) => owner_id.to_owned(),
                        None => continue,
                    },
                };
                let entry = per_owner.entry(owner_id).or_default();
                entry.0.push(Arc::new(row));
                entry.1 = total;
            }
            for key in keys {
                let (rows, total) = per_owner.remove(&key.owner_id).unwrap_or_default();
                pages.insert(
                    key.clone(),
                    Arc::new(SessionPage {
                        page: Page::from_fetched(rows, &args.window),
                        total: with_total.then_some(total),
                    }),
                );
            }
        }
        Ok(pages)
    }
}

#[derive(FromQueryResult)]
struct OwnerCount {
    owner: String,
    total: i64,
}

impl Load<SessionCountKey> for Loader {
    type Value = i64;

    async fn load(
        &self,
        keys: &[SessionCountKey],
    ) -> Result<HashMap<SessionCountKey, i64>, LoadError> {
        let backend = self.db.get_database_backend();
        let mut counts = HashMap::with_capacity_and_hasher(keys.len(), Default::default());
        let groups = group(keys, |k| (k.zone_id.clone(), k.owner, k.criteria.clone()));
        for ((zone_id, owner, criteria), keys) in groups {
            let owners: Vec<String> = keys.iter().map(|k| k.owner_id.clone()).collect();
            let rows = if self.access.permits_zone(&zone_id) {
                let statement = match owner {
                    Owner::Ancestor => descendant_count_statement(
                        backend,
                        &self.access,
                        &zone_id,
                        &tree_owners(keys.iter().map(|k| (&k.owner_id, k.owner_is_root))),
                        &criteria,
                        self.now,
                    ),
                    _ => count_statement(
                        backend,
                        &self.access,
                        &zone_id,
                        owner,
                        &owners,
                        &criteria,
                        self.now,
                    ),
                };
                OwnerCount::find_by_statement(statement)
                    .all(&self.db)
                    .await?
            } else {
                Vec::new()
            };
            let totals: HashMap<String, i64> =
                rows.into_iter().map(|r| (r.owner, r.total)).collect();
            for key in keys {
                counts.insert(key.clone(), totals.get(&key.owner_id).copied().unwrap_or(0));
            }
        }
        Ok(counts)
    }
}

impl Load<AncestorsKey> for Loader {
    /// Shared: every field that asked for the chain gets the same one.
    type Value = Arc<Vec<Arc<SessionRow>>>;

    async fn load(
        &self,
        keys: &[AncestorsKey],
    ) -> Result<HashMap<AncestorsKey, Self::Value>, LoadError> {
        let columns = self.projection.select_list(Table::Sessions);
        let backend = self.db.get_database_backend();
        let mut chains: HashMap<AncestorsKey, Vec<Arc<SessionRow>>> = HashMap::default();
        for (zone_id, ids) in by_zone(keys.iter().map(|k| &k.0), &self.access) {
            let statement = ancestors_statement(backend, &self.access, &columns, zone_id, &ids);
            for result in self.db.query_all_raw(statement).await? {
                let row = SessionRow::from_row(&result)?;
                // The descendant follows the session's columns.
                let descendant = result.try_get_by_index::<String>(SessionRow::COLUMNS)?;
                chains
                    .entry(AncestorsKey(ZonedId {
                        zone_id: zone_id.to_owned(),
                        id: descendant,
                    }))
                    .or_default()
                    .push(Arc::new(row));
            }
        }
        Ok(chains
            .into_iter()
            .map(|(key, chain)| (key, Arc::new(chain)))
            .collect())
    }
}

/// A request's batchers, one per key type, over one [`Loader`].
pub struct Loaders {
    users: Batcher<UserKey, Loader>,
    applications: Batcher<ApplicationKey, Loader>,
    user_agents: Batcher<UserAgentKey, Loader>,
    sessions: Batcher<SessionKey, Loader>,
    pages: Batcher<SessionPageKey, Loader>,
    counts: Batcher<SessionCountKey, Loader>,
    ancestors: Batcher<AncestorsKey, Loader>,
}

impl Loaders {
    pub fn new(loader: Loader, idle: &IdleSignal) -> Self {
        let loader = Arc::new(loader);
        Loaders {
            users: Batcher::new(loader.clone(), idle.clone()),
            applications: Batcher::new(loader.clone(), idle.clone()),
            user_agents: Batcher::new(loader.clone(), idle.clone()),
            sessions: Batcher::new(loader.clone(), idle.clone()),
            pages: Batcher::new(loader.clone(), idle.clone()),
            counts: Batcher::new(loader.clone(), idle.clone()),
            ancestors: Batcher::new(loader, idle.clone()),
        }
    }

    /// Loads one key with the others of its kind queued in this request.
    pub async fn load_one<K>(&self, key: K) -> Result<Option<<Loader as Load<K>>::Value>, LoadError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        Loader: Load<K>,
        Self: BatcherOf<K>,
    {
        self.batcher().load_one(key).await
    }
}

/// Which of [`Loaders`]' batchers serves a key type.
pub trait BatcherOf<K>
where
    Loader: Load<K>,
{
    fn batcher(&self) -> &Batcher<K, Loader>;
}

macro_rules! batcher_of {
    ($key:ty, $field:ident) => {
        impl BatcherOf<$key> for Loaders {
            fn batcher(&self) -> &Batcher<$key, Loader> {
                &self.$field
            }
        }
    };
}

batcher_of!(UserKey, users);
batcher_of!(ApplicationKey, applications);
batcher_of!(UserAgentKey, user_agents);
batcher_of!(SessionKey, sessions);
batcher_of!(SessionPageKey, pages);
batcher_of!(SessionCountKey, counts);
batcher_of!(AncestorsKey, ancestors);
