//! `User`: a user of the identity platform.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use super::arguments::{SessionFilter, SessionListArguments, SessionOrder};
use super::context::{fail, state};
use super::errors::ApiError;
use super::loaders::SessionPage;
use super::objects::{SessionConnection, SessionList, User};
use super::scalars::DateTime;
use super::session_connection::ConnectionShape;
use crate::store::db::is_unreachable;
use crate::store::session_lists::Owner;

impl User {
    /// The user `id`, looked up with the one page of sessions its selected
    /// `sessions` field reads, in one statement; the page is handed to
    /// that field's loader, so resolving it reads nothing more. `None`
    /// (nothing read) unless the selection has one `sessions` field that
    /// reads a page with arguments that validate: the field's own
    /// resolver then reads and reports as usual.
    pub async fn find_with_sessions(
        ctx: &Context<'_>,
        id: &str,
    ) -> Option<async_graphql::Result<Option<User>>> {
        let selection = ctx.look_ahead();
        let sessions = selection.field("sessions");
        let fields = sessions.selection_fields();
        let [field] = fields.as_slice() else {
            return None;
        };
        let args = SessionListArguments::of_field(field)?.validate().ok()?;
        let shape = ConnectionShape::of(&sessions, Owner::User, &args);
        if !shape.reads_page {
            return None;
        }
        let state = match state(ctx) {
            Ok(state) => state,
            Err(error) => return Some(Err(error)),
        };
        let found = state
            .reader
            .user_with_session_page(id, &args, shape.count_in_page, &shape.joins)
            .await;
        let (user, rows, related) = match found {
            Ok(Some(found)) => found,
            Ok(None) => return Some(Ok(None)),
            // A database that cannot be reached fails the lookup alike: no
            // second wait for it.
            Err(error) if is_unreachable(&error) => {
                return Some(fail(state, Err(ApiError::from(error))));
            }
            // Otherwise the lookup alone, and the field reads its own page,
            // so that a failure of the page fails only the field.
            Err(_) => return None,
        };
        let list = SessionList {
            zone_id: &user.zone_id,
            owner: Owner::User,
            owner_id: &user.id,
            owner_is_root: false,
        };
        let with_total = shape.count_in_page;
        let connection = SessionConnection::shaped(list, Arc::new(args), shape);
        let page = SessionPage::of(rows, &connection.args, with_total);
        let loaders = &state.loaders;
        loaders
            .session_pages
            .primer()
            .prime([(connection.page_key(), Some(Arc::new(page)))]);
        loaders.prime(related);
        Some(Ok(Some(User(Arc::new(user)))))
    }
}

/// A user of the identity platform.
#[Object]
impl User {
    /// The user's id, unique across all kinds.
    #[graphql(ready)]
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// When the user was created.
    #[graphql(ready)]
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the user was last updated.
    #[graphql(ready)]
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// The user's email address.
    #[graphql(ready)]
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Whether the user has verified their email address.
    #[graphql(ready)]
    async fn email_verified(&self) -> bool {
        self.0.email_verified
    }
    /// The organization the user belongs to.
    #[graphql(ready)]
    async fn organization_id(&self) -> ID {
        ID(self.0.organization_id.clone())
    }
    /// The zone (tenant) the user belongs to.
    #[graphql(ready)]
    async fn zone_id(&self) -> ID {
        ID(self.0.zone_id.clone())
    }
    /// When the user last authenticated.
    #[graphql(ready)]
    async fn authenticated_at(&self) -> Option<DateTime> {
        self.0.authenticated_at.map(DateTime)
    }
    /// The issuer of the user's identity, for federated users.
    #[graphql(ready)]
    async fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }
    /// The identity provider the user signs in with.
    #[graphql(ready)]
    async fn provider_id(&self) -> Option<ID> {
        self.0.provider_id.clone().map(ID)
    }
    /// The user's subject at the identity provider.
    #[graphql(ready)]
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
