//! `User`: a user of the identity platform.

use async_graphql::{Context, ID, Object};

use super::arguments::{SessionFilter, SessionListArguments, SessionOrder};
use super::objects::{SessionConnection, SessionList, User};
use super::scalars::DateTime;
use crate::store::session_lists::Owner;

/// A user of the identity platform.
#[Object]
impl User {
    /// The user's id, unique across all kinds.
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// When the user was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the user was last updated.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The user's email address.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Whether the user has verified their email address.
    async fn email_verified(&self) -> bool {
        self.0.email_verified
    }
    /// The organization the user belongs to.
    async fn organization_id(&self) -> ID {
        ID(self.0.organization_id.clone())
    }
    /// The zone (tenant) the user belongs to.
    async fn zone_id(&self) -> ID {
        ID(self.0.zone_id.clone())
    }
    /// When the user last authenticated.
    async fn authenticated_at(&self) -> Option<DateTime> {
        self.0.authenticated_at.map(DateTime)
    }
    /// The issuer of the user's identity, for federated users.
    async fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }
    /// The identity provider the user signs in with.
    async fn provider_id(&self) -> Option<ID> {
        self.0.provider_id.clone().map(ID)
    }
    /// The user's subject at the identity provider.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The user's sessions. Entry sessions only unless `filter.includeNested`.
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
            owner: Owner::User,
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
