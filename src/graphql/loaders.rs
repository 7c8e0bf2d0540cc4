//! The request's dataloaders, one per kind of key, each over the
//! [`Reader`] of the request. Every `load` below is one call into the
//! store, which runs one statement per zone (or per shape of list) for the
//! whole batch; the statement is in the `Reader` method it calls. One
//! [`DataLoaders`] lives per request, made at its first use
//! ([`LazyDataLoaders`]), so nothing is shared or cached across requests.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashMap;
use sea_orm::DbErr;

use super::dataloader::{DataLoader, IdleSignal, Loader, Primer};
use crate::entities::{application, user, user_agent};
use crate::store::joins::{Related, SessionJoins};
use crate::store::keys::{Keyed, ZonedId};
use crate::store::keyset::Page;
use crate::store::session_lists::{Criteria, ListArgs, ListOwner, Owner, OwnerRows};
use crate::store::{Reader, SessionRow};

/// A batch's failure, shared by every field that waited on it.
pub type LoadError = Arc<DbErr>;

/// Records keyed as their loader's keys are, each shared (`Arc`) by every
/// field that asked for it.
fn keyed<R: Keyed>(rows: Vec<R>) -> FxHashMap<ZonedId, Arc<R>> {
    rows.into_iter()
        .map(|row| (ZonedId::of(&row), Arc::new(row)))
        .collect()
}

/// `UserSession.user`: users by zone and id.
pub struct UserLoader(Arc<Reader>);

impl Loader for UserLoader {
    type Key = ZonedId;
    type Value = Arc<user::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[ZonedId]) -> Result<FxHashMap<ZonedId, Self::Value>, LoadError> {
        Ok(keyed(self.0.by_zoned_id(keys).await?))
    }
}

/// `application` of a session or a count: applications by zone and id.
pub struct ApplicationLoader(Arc<Reader>);

impl Loader for ApplicationLoader {
    type Key = ZonedId;
    type Value = Arc<application::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[ZonedId]) -> Result<FxHashMap<ZonedId, Self::Value>, LoadError> {
        Ok(keyed(self.0.by_zoned_id(keys).await?))
    }
}

/// `userAgent` of a session or a count: user agents by zone and id.
pub struct UserAgentLoader(Arc<Reader>);

impl Loader for UserAgentLoader {
    type Key = ZonedId;
    type Value = Arc<user_agent::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[ZonedId]) -> Result<FxHashMap<ZonedId, Self::Value>, LoadError> {
        Ok(keyed(self.0.by_zoned_id(keys).await?))
    }
}

/// `UserSession.parent` and `root`: sessions by zone and id.
pub struct SessionLoader(Arc<Reader>);

impl Loader for SessionLoader {
    type Key = ZonedId;
    type Value = Arc<SessionRow>;
    type Error = LoadError;

    async fn load(&self, keys: &[ZonedId]) -> Result<FxHashMap<ZonedId, Self::Value>, LoadError> {
        Ok(keyed(self.0.by_zoned_id(keys).await?))
    }
}

/// One owner's page of a session connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPageKey {
    pub zone_id: String,
    pub owner: Owner,
    pub owner_id: String,
    pub args: Arc<ListArgs>,
    /// Also count the owner's whole list in the same statement (see
    /// [`ListArgs::counts_in_page`]); only for per-owner pages without cursors.
    pub with_total: bool,
    /// For descendants: the owner is the root of its tree.
    pub owner_is_root: bool,
    /// The to-one relations of the page's sessions to read with them.
    pub joins: Arc<SessionJoins>,
}

/// Hashes the owner only: a request rarely asks one owner for two
/// different pages, and hashing the whole arguments and joins for every
/// `nodes`, `totalCount` and batch lookup was 2% of a nested query's work.
/// Keys that are equal have equal owners, so `Eq` stays consistent.
impl std::hash::Hash for SessionPageKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.zone_id.hash(state);
        self.owner.hash(state);
        self.owner_id.hash(state);
    }
}

/// A session page and, when its key asked for it, the whole list's count.
#[derive(Debug, Clone)]
pub struct SessionPage {
    pub page: Page<Arc<SessionRow>>,
    pub total: Option<i64>,
}

impl SessionPage {
    /// The page of an owner's fetched rows (one more than the window when
    /// another page follows).
    pub fn of(fetched: OwnerRows, args: &ListArgs, with_total: bool) -> Self {
        let rows = fetched.rows.into_iter().map(Arc::new).collect();
        SessionPage {
            page: Page::from_fetched(rows, &args.window),
            total: with_total.then_some(fetched.total),
        }
    }
}

fn group<K, G: std::hash::Hash + Eq>(keys: &[K], by: impl Fn(&K) -> G) -> FxHashMap<G, Vec<&K>> {
    let mut groups: FxHashMap<G, Vec<&K>> = FxHashMap::default();
    for key in keys {
        groups.entry(by(key)).or_default().push(key);
    }
    groups
}

fn list_owner(id: &str, is_root: bool) -> ListOwner {
    ListOwner {
        id: id.to_owned(),
        is_root,
    }
}

/// Every session connection (`sessions`, `children`, `descendants`): the
/// pages of one shape load together, one statement for all their owners,
/// which also reads the relations the key's `joins` name and primes their
/// loaders.
pub struct SessionPageLoader(Arc<Reader>, RelatedPrimers);

impl Loader for SessionPageLoader {
    type Key = SessionPageKey;
    /// Shared: every field of a connection (`nodes`, `edges`, `pageInfo`,
    /// `totalCount`) reads the same page.
    type Value = Arc<SessionPage>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[SessionPageKey],
    ) -> Result<FxHashMap<SessionPageKey, Self::Value>, LoadError> {
        let mut pages = FxHashMap::with_capacity_and_hasher(keys.len(), Default::default());
        let groups = group(keys, |k| {
            (
                k.zone_id.clone(),
                k.owner,
                k.args.clone(),
                k.with_total,
                k.joins.clone(),
            )
        });
        for ((zone_id, owner, args, with_total, joins), keys) in groups {
            let owners: Vec<ListOwner> = keys
                .iter()
                .map(|k| list_owner(&k.owner_id, k.owner_is_root))
                .collect();
            let (mut fetched, related) = self
                .0
                .session_pages(&zone_id, owner, &owners, &args, with_total, &joins)
                .await?;
            self.1.prime(related);
            for key in keys {
                let fetched = fetched.remove(&key.owner_id).unwrap_or_default();
                pages.insert(
                    key.clone(),
                    Arc::new(SessionPage::of(fetched, &args, with_total)),
                );
            }
        }
        Ok(pages)
    }
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

/// `totalCount` of session connections not counted with their page.
pub struct SessionCountLoader(Arc<Reader>);

impl Loader for SessionCountLoader {
    type Key = SessionCountKey;
    type Value = i64;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[SessionCountKey],
    ) -> Result<FxHashMap<SessionCountKey, i64>, LoadError> {
        let mut counts = FxHashMap::with_capacity_and_hasher(keys.len(), Default::default());
        let groups = group(keys, |k| (k.zone_id.clone(), k.owner, k.criteria.clone()));
        for ((zone_id, owner, criteria), keys) in groups {
            let owners: Vec<ListOwner> = keys
                .iter()
                .map(|k| list_owner(&k.owner_id, k.owner_is_root))
                .collect();
            let totals = self
                .0
                .session_counts(&zone_id, owner, &owners, &criteria)
                .await?;
            for key in keys {
                counts.insert(key.clone(), totals.get(&key.owner_id).copied().unwrap_or(0));
            }
        }
        Ok(counts)
    }
}

/// `UserSession.ancestors`: the chain above each session, root first.
pub struct AncestorsLoader(Arc<Reader>);

impl Loader for AncestorsLoader {
    type Key = ZonedId;
    /// Shared: every field that asked for the chain gets the same one.
    type Value = Arc<Vec<Arc<SessionRow>>>;
    type Error = LoadError;

    async fn load(&self, keys: &[ZonedId]) -> Result<FxHashMap<ZonedId, Self::Value>, LoadError> {
        let chains = self.0.ancestors(keys).await?;
        Ok(chains
            .into_iter()
            .map(|(key, chain)| (key, Arc::new(chain.into_iter().map(Arc::new).collect())))
            .collect())
    }
}

/// The dataloaders of one request, all over the same [`Reader`].
pub struct DataLoaders {
    pub users: DataLoader<UserLoader>,
    pub applications: DataLoader<ApplicationLoader>,
    pub user_agents: DataLoader<UserAgentLoader>,
    pub sessions: DataLoader<SessionLoader>,
    pub session_pages: DataLoader<SessionPageLoader>,
    pub session_counts: DataLoader<SessionCountLoader>,
    pub ancestors: DataLoader<AncestorsLoader>,
    /// The to-one loaders, for lookups that join relations in.
    primers: RelatedPrimers,
}

impl DataLoaders {
    pub fn new(reader: &Arc<Reader>, idle: &IdleSignal) -> Self {
        let users = DataLoader::new(UserLoader(reader.clone()), idle.clone());
        let applications = DataLoader::new(ApplicationLoader(reader.clone()), idle.clone());
        let user_agents = DataLoader::new(UserAgentLoader(reader.clone()), idle.clone());
        let sessions = DataLoader::new(SessionLoader(reader.clone()), idle.clone());
        let primers = RelatedPrimers {
            users: users.primer(),
            applications: applications.primer(),
            user_agents: user_agents.primer(),
            sessions: sessions.primer(),
        };
        DataLoaders {
            session_pages: DataLoader::new(
                SessionPageLoader(reader.clone(), primers.clone()),
                idle.clone(),
            ),
            primers,
            users,
            applications,
            user_agents,
            sessions,
            session_counts: DataLoader::new(SessionCountLoader(reader.clone()), idle.clone()),
            ancestors: DataLoader::new(AncestorsLoader(reader.clone()), idle.clone()),
        }
    }

    /// Primes the to-one loaders with records a lookup joined in.
    pub fn prime(&self, related: Related) {
        self.primers.prime(related);
    }
}

/// The to-one loaders that joined records prime.
#[derive(Clone)]
pub struct RelatedPrimers {
    users: Primer<UserLoader>,
    applications: Primer<ApplicationLoader>,
    user_agents: Primer<UserAgentLoader>,
    sessions: Primer<SessionLoader>,
}

impl RelatedPrimers {
    fn prime(&self, related: Related) {
        let Related {
            users,
            applications,
            user_agents,
            sessions,
        } = related;
        self.users.prime_all(users);
        self.applications.prime_all(applications);
        self.user_agents.prime_all(user_agents);
        self.sessions.prime_all(sessions);
    }
}

/// A request's [`DataLoaders`], made at their first use: a subscription
/// whose events select no relation never needs them, and it may stay open
/// for hours.
pub struct LazyDataLoaders {
    reader: Arc<Reader>,
    idle: IdleSignal,
    loaders: OnceLock<DataLoaders>,
}

impl LazyDataLoaders {
    pub fn new(reader: &Arc<Reader>, idle: &IdleSignal) -> Self {
        LazyDataLoaders {
            reader: reader.clone(),
            idle: idle.clone(),
            loaders: OnceLock::new(),
        }
    }
}

impl Deref for LazyDataLoaders {
    type Target = DataLoaders;

    fn deref(&self) -> &DataLoaders {
        self.loaders
            .get_or_init(|| DataLoaders::new(&self.reader, &self.idle))
    }
}
