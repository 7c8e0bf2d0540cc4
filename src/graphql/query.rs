//! The root query fields of SPEC §1.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter};

use super::connection::{
    ApplicationConnection, SessionConnection, UserAgentConnection, UserConnection,
};
use super::context::{fail, state};
use super::errors::ApiError;
use super::pagination::{Cursor, Ordering, Page, Window, push_keyset_page};
use super::session_lists::Owner;
use super::sql::Sql;
use super::stats::SessionStats;
use super::tenancy::{OrganizationColumn, push_organization, restrict};
use super::types::{
    Application, Node, Session, SessionFilter, SessionOrder, User, UserAgent, session_connection,
    session_list_args,
};
use crate::auth::Access;
use crate::entities::{application, session, user, user_agent};

/// The most ids `nodes` takes at once.
const MAX_NODES: usize = 100;

pub struct Query;

/// `totalCount` of a root list, run only when selected.
#[derive(Debug, Clone)]
pub struct CountQuery {
    table: &'static str,
    zone_id: String,
}

impl CountQuery {
    pub async fn run(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        #[derive(FromQueryResult)]
        struct Total {
            total: i64,
        }
        let state = state(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let mut sql = Sql::new(db.get_database_backend());
        sql.push(&format!(
            "SELECT COUNT(*) AS total FROM {} WHERE zone_id = ",
            self.table
        ))
        .bind(self.zone_id.clone());
        push_organization(&mut sql, &state.access, OrganizationColumn::Required);
        let total = Total::find_by_statement(sql.build())
            .one(db)
            .await
            .map_err(ApiError::from);
        Ok(fail(state, total)?.map(|t| t.total).unwrap_or(0))
    }
}

/// A page of a root list ordered newest first (applications, users, user agents).
async fn newest_first<M: FromQueryResult + Send + Sync>(
    db: &DatabaseConnection,
    access: &Access,
    table: &'static str,
    zone_id: &str,
    window: &Window,
) -> Result<Page<M>, ApiError> {
    let mut sql = Sql::new(db.get_database_backend());
    // created_at is required for these tables: no unkeyed branch.
    push_keyset_page(&mut sql, Ordering::default(), window, false, |sql| {
        sql.push(&format!("SELECT * FROM {table} WHERE zone_id = "))
            .bind(zone_id.to_owned());
        push_organization(sql, access, OrganizationColumn::Required);
    });
    let rows = M::find_by_statement(sql.build()).all(db).await?;
    Ok(Page::from_fetched(rows, window))
}

fn created_cursor(created_at: chrono::DateTime<chrono::Utc>, id: &str) -> String {
    Cursor {
        key: Some(created_at),
        id: id.to_owned(),
    }
    .encode(Ordering::default())
}

/// A kind of record as the caller may see it: within their zones and
/// organization, so an id of another zone reads exactly like a missing one.
macro_rules! visible {
    ($access:expr, $module:ident, $organization:expr) => {
        restrict(
            $module::Entity::find(),
            $access,
            $module::Column::ZoneId,
            $module::Column::OrganizationId,
            $organization,
        )
    };
}

/// Looks ids up in every table: ids are unique across kinds (SPEC §2).
async fn find_nodes(
    db: &DatabaseConnection,
    access: &Access,
    ids: &[String],
) -> Result<HashMap<String, Node>, ApiError> {
    let mut found = HashMap::new();
    let ids = || ids.iter().cloned();
    for row in visible!(access, session, OrganizationColumn::Nullable)
        .filter(session::Column::Id.is_in(ids()))
        .all(db)
        .await?
    {
        found.insert(row.id.clone(), Node::from(Session::from(row)));
    }
    for row in visible!(access, application, OrganizationColumn::Required)
        .filter(application::Column::Id.is_in(ids()))
        .all(db)
        .await?
    {
        found.insert(
            row.id.clone(),
            Node::Application(Application(Arc::new(row))),
        );
    }
    for row in visible!(access, user, OrganizationColumn::Required)
        .filter(user::Column::Id.is_in(ids()))
        .all(db)
        .await?
    {
        found.insert(row.id.clone(), Node::User(User(Arc::new(row))));
    }
    for row in visible!(access, user_agent, OrganizationColumn::Required)
        .filter(user_agent::Column::Id.is_in(ids()))
        .all(db)
        .await?
    {
        found.insert(row.id.clone(), Node::UserAgent(UserAgent(Arc::new(row))));
    }
    Ok(found)
}

macro_rules! root_list {
    ($ctx:expr, $connection:ident, $table:literal, $model:ty, $wrap:expr, $zone:expr, $first:expr, $after:expr, $last:expr, $before:expr) => {{
        let state = state($ctx)?;
        let db = $ctx.data::<DatabaseConnection>()?;
        let window = fail(
            state,
            Window::parse(
                $first,
                $after.as_deref(),
                $last,
                $before.as_deref(),
                Ordering::default(),
            ),
        )?;
        fail(state, state.require_zone(&$zone.0))?;
        let page: Page<$model> = fail(
            state,
            newest_first(db, &state.access, $table, &$zone.0, &window).await,
        )?;
        let page = Page {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            rows: page
                .rows
                .into_iter()
                .map(|row| {
                    (
                        created_cursor(row.created_at, &row.id),
                        $wrap(Arc::new(row)),
                    )
                })
                .collect(),
        };
        Ok($connection::new(
            page,
            CountQuery {
                table: $table,
                zone_id: $zone.0.clone(),
            },
        ))
    }};
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
        let db = ctx.data::<DatabaseConnection>()?;
        let mut found = fail(
            state,
            find_nodes(db, &state.access, std::slice::from_ref(&id.0)).await,
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
        let db = ctx.data::<DatabaseConnection>()?;
        let wanted: Vec<String> = ids.iter().map(|id| id.0.clone()).collect();
        let found = fail(state, find_nodes(db, &state.access, &wanted).await)?;
        Ok(wanted.iter().map(|id| found.get(id).cloned()).collect())
    }

    /// Fetches a session by its id; null when no session has it.
    async fn session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the session.")] id: ID,
    ) -> async_graphql::Result<Option<Session>> {
        let state = state(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let row = visible!(&state.access, session, OrganizationColumn::Nullable)
            .filter(session::Column::Id.eq(id.0))
            .one(db)
            .await
            .map_err(ApiError::from);
        Ok(fail(state, row)?.map(Session::from))
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
        session_connection(
            ctx,
            &zone_id.0,
            Owner::Zone,
            "",
            filter,
            order_by,
            first,
            after,
            last,
            before,
        )
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
        let args = fail(
            state,
            session_list_args(filter, None, None, None, None, None),
        )?;
        Ok(SessionStats {
            zone_id: zone_id.0,
            criteria: args.criteria,
        })
    }

    /// Fetches an application by its id; null when no application has it.
    async fn application(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the application.")] id: ID,
    ) -> async_graphql::Result<Option<Application>> {
        let state = state(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let row = visible!(&state.access, application, OrganizationColumn::Required)
            .filter(application::Column::Id.eq(id.0))
            .one(db)
            .await
            .map_err(ApiError::from);
        Ok(fail(state, row)?.map(|row| Application(Arc::new(row))))
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
        root_list!(
            ctx,
            ApplicationConnection,
            "applications",
            application::Model,
            Application,
            zone_id,
            first,
            after,
            last,
            before
        )
    }

    /// Fetches a user by their id; null when no user has it.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the user.")] id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let state = state(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let row = visible!(&state.access, user, OrganizationColumn::Required)
            .filter(user::Column::Id.eq(id.0))
            .one(db)
            .await
            .map_err(ApiError::from);
        Ok(fail(state, row)?.map(|row| User(Arc::new(row))))
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
        root_list!(
            ctx,
            UserConnection,
            "users",
            user::Model,
            User,
            zone_id,
            first,
            after,
            last,
            before
        )
    }

    /// Fetches a user agent by its id; null when no user agent has it.
    async fn user_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the user agent.")] id: ID,
    ) -> async_graphql::Result<Option<UserAgent>> {
        let state = state(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let row = visible!(&state.access, user_agent, OrganizationColumn::Required)
            .filter(user_agent::Column::Id.eq(id.0))
            .one(db)
            .await
            .map_err(ApiError::from);
        Ok(fail(state, row)?.map(|row| UserAgent(Arc::new(row))))
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
        root_list!(
            ctx,
            UserAgentConnection,
            "user_agents",
            user_agent::Model,
            UserAgent,
            zone_id,
            first,
            after,
            last,
            before
        )
    }
}
