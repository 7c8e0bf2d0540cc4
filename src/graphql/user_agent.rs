//! `UserAgent`: a client program sessions are created from.

use async_graphql::{Context, ID, Object};

use super::arguments::{SessionFilter, SessionListArguments, SessionOrder};
use super::objects::{SessionConnection, SessionList, UserAgent};
use super::scalars::DateTime;
use crate::store::session_lists::Owner;

/// A client program sessions are created from: a browser, a CLI, an app.
#[Object]
impl UserAgent {
    /// The user agent's id, unique across all kinds.
    #[graphql(ready)]
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// When the user agent was first seen.
    #[graphql(ready)]
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the user agent was last updated.
    #[graphql(ready)]
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// `ua:` followed by the SHA-256 of the agent string, in lowercase hex.
    #[graphql(ready)]
    async fn identifier(&self) -> &str {
        &self.0.identifier
    }
    /// The user agent's display name.
    #[graphql(ready)]
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The organization the user agent belongs to.
    #[graphql(ready)]
    async fn organization_id(&self) -> ID {
        ID(self.0.organization_id.clone())
    }
    /// The user agent's URL-safe name, unique within its zone.
    #[graphql(ready)]
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The zone (tenant) the user agent belongs to.
    #[graphql(ready)]
    async fn zone_id(&self) -> ID {
        ID(self.0.zone_id.clone())
    }
    /// Sessions created from this user agent. Entry sessions only unless `filter.includeNested`.
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Returns the first n sessions (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "Returns the sessions after this cursor.")] after: Option<String>,
        #[graphql(desc = "Returns the last n sessions (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Returns the sessions before this cursor.")] before: Option<String>,
        #[graphql(desc = "Conditions the sessions must meet.")] filter: Option<SessionFilter>,
        #[graphql(desc = "The order of the sessions; `CREATED_AT DESC` by default.")]
        order_by: Option<SessionOrder>,
    ) -> async_graphql::Result<SessionConnection> {
        let list = SessionList {
            zone_id: &self.0.zone_id,
            owner: Owner::UserAgent,
            owner_id: &self.0.id,
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
}
