//! `Query.sessionStats`: counts of the sessions a list would show, each
//! part one grouped statement (`Reader::session_group_counts`) run only
//! when selected.

use std::collections::HashMap;

use async_graphql::{Context, Object, SimpleObject};

use super::context::{fail, state};
use super::enums::{SessionStatus, SessionType};
use super::errors::ApiError;
use super::objects::{Application, UserAgent};
use crate::store::keys::ZonedId;
use crate::store::keyset::MAX_PAGE;
use crate::store::session_lists::Criteria;
use crate::store::session_stats::Grouping;
use crate::store::status::EffectiveStatus;

pub struct SessionStats {
    pub zone_id: String,
    pub criteria: Criteria,
}

/// How many sessions have one status.
#[derive(SimpleObject)]
pub struct SessionStatusCount {
    /// The effective status.
    pub status: SessionStatus,
    /// How many of the counted sessions have it.
    pub count: i64,
}

/// How many sessions are of one kind.
#[derive(SimpleObject)]
pub struct SessionTypeCount {
    /// The kind of session.
    #[graphql(name = "type")]
    pub session_type: SessionType,
    /// How many of the counted sessions are of this kind.
    pub count: i64,
}

pub struct ApplicationSessionCount {
    zone_id: String,
    application_id: String,
    count: i64,
}

pub struct UserAgentSessionCount {
    zone_id: String,
    user_agent_id: String,
    count: i64,
}

/// The length of a `by*` list by default.
const DEFAULT_TOP: i32 = 10;

impl SessionStats {
    async fn counts(
        &self,
        ctx: &Context<'_>,
        grouping: Grouping,
        limit: Option<u32>,
    ) -> async_graphql::Result<Vec<(String, i64)>> {
        let state = state(ctx)?;
        let counts = state
            .reader
            .session_group_counts(&self.zone_id, &self.criteria, grouping, limit)
            .await
            .map_err(ApiError::from);
        fail(state, counts)
    }

    /// The counts keyed by group, for parts that list every group.
    async fn count_map(
        &self,
        ctx: &Context<'_>,
        grouping: Grouping,
    ) -> async_graphql::Result<HashMap<String, i64>> {
        Ok(self
            .counts(ctx, grouping, None)
            .await?
            .into_iter()
            .collect())
    }
}

/// The size of a `by*` list: 0 to 100, 10 when null.
fn top(ctx: &Context<'_>, first: Option<i32>) -> async_graphql::Result<u32> {
    let first = first.unwrap_or(DEFAULT_TOP);
    if (0..=MAX_PAGE as i32).contains(&first) {
        Ok(first as u32)
    } else {
        fail(
            state(ctx)?,
            Err(ApiError::bad_input(format!(
                "`first` must be between 0 and {MAX_PAGE} (got {first})"
            ))),
        )
    }
}

/// Counts of a zone's sessions, over the sessions `sessions(zoneId, filter)`
/// would list. Each part is computed only when selected.
#[Object]
impl SessionStats {
    /// How many sessions are counted.
    async fn total(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let counts = self.counts(ctx, Grouping::Nothing, None).await?;
        Ok(counts.first().map(|(_, total)| *total).unwrap_or(0))
    }

    /// The counted sessions by effective status: all three statuses, zeros
    /// included, in the enum's order.
    async fn by_status(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SessionStatusCount>> {
        let counts = self.count_map(ctx, Grouping::EffectiveStatus).await?;
        Ok([
            EffectiveStatus::Active,
            EffectiveStatus::Expired,
            EffectiveStatus::Revoked,
        ]
        .into_iter()
        .map(|status| SessionStatusCount {
            status: status.into(),
            count: counts.get(status.as_str()).copied().unwrap_or(0),
        })
        .collect())
    }

    /// The counted sessions by kind: both kinds, zeros included, in the
    /// enum's order.
    async fn by_type(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SessionTypeCount>> {
        let counts = self.count_map(ctx, Grouping::SessionType).await?;
        Ok([
            (SessionType::User, "user"),
            (SessionType::Application, "application"),
        ]
        .into_iter()
        .map(|(session_type, key)| SessionTypeCount {
            session_type,
            count: counts.get(key).copied().unwrap_or(0),
        })
        .collect())
    }

    /// The applications with the most counted sessions, most first (ties by
    /// application id). Applications without any counted session, and
    /// sessions without an application, are not listed.
    async fn by_application(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many applications to list (0 to 100).", default = 10)] first: Option<
            i32,
        >,
    ) -> async_graphql::Result<Vec<ApplicationSessionCount>> {
        let limit = top(ctx, first)?;
        Ok(self
            .counts(ctx, Grouping::Application, Some(limit))
            .await?
            .into_iter()
            .map(|(application_id, count)| ApplicationSessionCount {
                zone_id: self.zone_id.clone(),
                application_id,
                count,
            })
            .collect())
    }

    /// The user agents with the most counted sessions, most first (ties by
    /// user agent id). User agents without any counted session, and sessions
    /// without a user agent, are not listed.
    async fn by_user_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many user agents to list (0 to 100).", default = 10)] first: Option<
            i32,
        >,
    ) -> async_graphql::Result<Vec<UserAgentSessionCount>> {
        let limit = top(ctx, first)?;
        Ok(self
            .counts(ctx, Grouping::UserAgent, Some(limit))
            .await?
            .into_iter()
            .map(|(user_agent_id, count)| UserAgentSessionCount {
                zone_id: self.zone_id.clone(),
                user_agent_id,
                count,
            })
            .collect())
    }
}

/// A stored session names an application of its own zone, and the import
/// keeps it there; one the caller cannot read is outside their organization.
fn outside_organization(what: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "the {what} of these sessions is outside the token's organization"
    ))
}

/// How many sessions were issued to one application.
#[Object]
impl ApplicationSessionCount {
    /// The application.
    async fn application(&self, ctx: &Context<'_>) -> async_graphql::Result<Application> {
        let state = state(ctx)?;
        let row = state
            .loaders
            .applications
            .load_one(ZonedId::new(&self.zone_id, &self.application_id))
            .await
            .map_err(ApiError::from)
            .and_then(|row| row.ok_or_else(|| outside_organization("application")));
        Ok(Application(fail(state, row)?))
    }

    /// How many of the counted sessions were issued to it.
    async fn count(&self) -> i64 {
        self.count
    }
}

/// How many sessions were created from one user agent.
#[Object]
impl UserAgentSessionCount {
    /// The user agent.
    async fn user_agent(&self, ctx: &Context<'_>) -> async_graphql::Result<UserAgent> {
        let state = state(ctx)?;
        let row = state
            .loaders
            .user_agents
            .load_one(ZonedId::new(&self.zone_id, &self.user_agent_id))
            .await
            .map_err(ApiError::from)
            .and_then(|row| row.ok_or_else(|| outside_organization("user agent")));
        Ok(UserAgent(fail(state, row)?))
    }

    /// How many of the counted sessions were created from it.
    async fn count(&self) -> i64 {
        self.count
    }
}
