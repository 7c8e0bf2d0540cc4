//! The root query fields of SPEC §1.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use super::arguments::{SessionFilter, SessionListArguments, SessionOrder, criteria};
use super::context::{fail, state};
use super::errors::ApiError;
use super::joins::selected_joins;
use super::objects::{Application, Node, Session, SessionConnection, SessionList, User, UserAgent};
use super::session_stats::SessionStats;
use super::zone_connections::{
    ApplicationConnection, UserAgentConnection, UserConnection, ZoneCount,
};
use crate::entities::{application, user, user_agent};
use crate::store::keyset::{Cursor, Ordering, Page, Window};
use crate::store::records::Record;
use crate::store::session_lists::Owner;
use crate::store::{Reader, SessionRow};

/// The most ids `nodes` takes at once.
const MAX_NODES: usize = 100;

pub struct Query;

/// Looks ids up in every table: ids are unique across kinds (SPEC §2).
async fn find_nodes(reader: &Reader, ids: &[String]) -> Result<HashMap<String, Node>, ApiError> {
    let mut found = HashMap::new();
    for row in reader.by_id::<SessionRow>(ids).await? {
        found.insert(row.id.clone(), Node::from(Session::from(Arc::new(row))));
    }
    for row in reader.by_id::<application::Model>(ids).await? {
        found.insert(
            row.id.clone(),
            Node::Application(Application(Arc::new(row))),
        );
    }
    for row in reader.by_id::<user::Model>(ids).await? {
        found.insert(row.id.clone(), Node::User(User(Arc::new(row))));
    }
    for row in reader.by_id::<user_agent::Model>(ids).await? {
        found.insert(row.id.clone(), Node::UserAgent(UserAgent(Arc::new(row))));
    }
    Ok(found)
}

/// The record with `id`, if the caller can see one.
async fn find_one<R: Record>(ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<R>> {
    let state = state(ctx)?;
    let rows = state
        .reader
        .by_id::<R>(std::slice::from_ref(&id.0))
        .await
        .map_err(ApiError::from);
    Ok(fail(state, rows)?.into_iter().next())
}

/// A page of a zone-wide list as the root field asks for it.
struct ZoneList {
    zone_id: ID,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
}

/// A zone's records, newest first, each with its cursor.
async fn zone_page<R: Record, T>(
    ctx: &Context<'_>,
    list: &ZoneList,
    wrap: impl Fn(Arc<R>) -> T,
    created: impl Fn(&R) -> (chrono::DateTime<chrono::Utc>, String),
) -> async_graphql::Result<Page<(String, T)>> {
    let state = state(ctx)?;
    let window = fail(
        state,
        Window::parse(
            list.first,
            list.after.as_deref(),
            list.last,
            list.before.as_deref(),
            Ordering::default(),
        ),
    )?;
    fail(state, state.require_zone(&list.zone_id.0))?;
    let rows = state
        .reader
        .newest_first::<R>(&list.zone_id.0, &window)
        .await
        .map_err(ApiError::from);
    let page = Page::from_fetched(fail(state, rows)?, &window);
    Ok(Page {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        rows: page
            .rows
            .into_iter()
            .map(|row| {
                let (created_at, id) = created(&row);
                let cursor = Cursor {
                    key: Some(created_at),
                    id,
                }
                .encode(Ordering::default());
                (cursor, wrap(Arc::new(row)))
            })
            .collect(),
    })
}

fn zone_count<R: Record>(list: &ZoneList) -> ZoneCount {
    ZoneCount {
        table: R::TABLE,
        zone_id: list.zone_id.0.clone(),
    }
}

/// The entry points for reading the session graph.
#[Object]
impl Query {
    /// Fetches any object by its id; null when no object has it.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the object.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        let state = state(ctx)?;
        let mut found = fail(
            state,
            find_nodes(&state.reader, std::slice::from_ref(&id.0)).await,
        )?;
        Ok(found.remove(&id.0))
    }

    /// Fetches objects by their ids, in the order given; null for ids no object has.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ids of the objects (at most 100).")] ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        let state = state(ctx)?;
        if ids.len() > MAX_NODES {
            return fail(
                state,
                Err(ApiError::bad_input(format!(
                    "`ids` takes at most {MAX_NODES} ids (got {})",
                    ids.len()
                ))),
            );
        }
        let wanted: Vec<String> = ids.iter().map(|id| id.0.clone()).collect();
        let found = fail(state, find_nodes(&state.reader, &wanted).await)?;
        Ok(wanted.iter().map(|id| found.get(id).cloned()).collect())
    }

    /// Fetches a session by its id; null when no session has it.
    async fn session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the session.")] id: ID,
    ) -> async_graphql::Result<Option<Session>> {
        let state = state(ctx)?;
        let joins = selected_joins(&ctx.look_ahead());
        let found = state
            .reader
            .sessions_by_id_joined(std::slice::from_ref(&id.0), &joins)
            .await
            .map_err(ApiError::from);
        let (rows, related) = fail(state, found)?;
        if !joins.is_empty() {
            state.loaders.prime(related);
        }
        Ok(rows
            .into_iter()
            .next()
            .map(|row| Session::from(Arc::new(row))))
    }

    /// Lists a zone's sessions, newest first by default. Entry sessions
    /// only (depth 0 or 1) unless `filter.includeNested`.
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The zone whose sessions to list.")] zone_id: ID,
        #[graphql(desc = "Conditions the sessions must meet.")] filter: Option<SessionFilter>,
        #[graphql(desc = "The order of the sessions; `CREATED_AT DESC` by default.")]
        order_by: Option<SessionOrder>,
        #[graphql(desc = "Returns the first n sessions (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the sessions after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n sessions (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the sessions before this cursor.")] before: Option<String>,
    ) -> async_graphql::Result<SessionConnection> {
        let list = SessionList {
            zone_id: &zone_id.0,
            owner: Owner::Zone,
            owner_id: "",
            owner_is_root: false,
        };
        let arguments = SessionListArguments {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        SessionConnection::of(ctx, list, arguments)
    }

    /// Counts a zone's sessions: the sessions `sessions(zoneId, filter)`
    /// would list, by status, kind, application and user agent. Each part
    /// is computed only when selected.
    async fn session_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The zone whose sessions to count.")] zone_id: ID,
        #[graphql(desc = "Conditions the counted sessions must meet.")] filter: Option<
            SessionFilter,
        >,
    ) -> async_graphql::Result<SessionStats> {
        let state = state(ctx)?;
        fail(state, state.require_zone(&zone_id.0))?;
        Ok(SessionStats {
            zone_id: zone_id.0,
            criteria: criteria(filter),
        })
    }

    /// Fetches an application by its id; null when no application has it.
    async fn application(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the application.")] id: ID,
    ) -> async_graphql::Result<Option<Application>> {
        let row = find_one::<application::Model>(ctx, id).await?;
        Ok(row.map(|row| Application(Arc::new(row))))
    }

    /// Lists a zone's applications, newest first.
    async fn applications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The zone whose applications to list.")] zone_id: ID,
        #[graphql(desc = "Returns the first n applications (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the applications after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n applications (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the applications before this cursor.")] before: Option<String>,
    ) -> async_graphql::Result<ApplicationConnection> {
        let list = ZoneList {
            zone_id,
            first,
            after,
            last,
            before,
        };
        let page = zone_page::<application::Model, _>(ctx, &list, Application, |row| {
            (row.created_at, row.id.clone())
        })
        .await?;
        Ok(ApplicationConnection::new(
            page,
            zone_count::<application::Model>(&list),
        ))
    }

    /// Fetches a user by their id; null when no user has it.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the user.")] id: ID,
    ) -> async_graphql::Result<Option<User>> {
        if let Some(found) = User::find_with_sessions(ctx, &id.0).await {
            return found;
        }
        let row = find_one::<user::Model>(ctx, id).await?;
        Ok(row.map(|row| User(Arc::new(row))))
    }

    /// Lists a zone's users, newest first.
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The zone whose users to list.")] zone_id: ID,
        #[graphql(desc = "Returns the first n users (at most 100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Returns the users after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n users (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the users before this cursor.")] before: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let list = ZoneList {
            zone_id,
            first,
            after,
            last,
            before,
        };
        let page =
            zone_page::<user::Model, _>(ctx, &list, User, |row| (row.created_at, row.id.clone()))
                .await?;
        Ok(UserConnection::new(page, zone_count::<user::Model>(&list)))
    }

    /// Fetches a user agent by its id; null when no user agent has it.
    async fn user_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the user agent.")] id: ID,
    ) -> async_graphql::Result<Option<UserAgent>> {
        let row = find_one::<user_agent::Model>(ctx, id).await?;
        Ok(row.map(|row| UserAgent(Arc::new(row))))
    }

    /// Lists a zone's user agents, newest first.
    async fn user_agents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The zone whose user agents to list.")] zone_id: ID,
        #[graphql(desc = "Returns the first n user agents (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the user agents after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n user agents (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the user agents before this cursor.")] before: Option<String>,
    ) -> async_graphql::Result<UserAgentConnection> {
        let list = ZoneList {
            zone_id,
            first,
            after,
            last,
            before,
        };
        let page = zone_page::<user_agent::Model, _>(ctx, &list, UserAgent, |row| {
            (row.created_at, row.id.clone())
        })
        .await?;
        Ok(UserAgentConnection::new(
            page,
            zone_count::<user_agent::Model>(&list),
        ))
    }
}
