//! The fields both kinds of session declare, with identical types (SPEC §1).

use async_graphql::SimpleObject;

/// A session's display metadata.
#[derive(SimpleObject, Clone)]
pub struct SessionMetadata {
    /// A display name for the session, usually the application or user agent it belongs to.
    pub name: String,
}

/// The fields both session types declare, with identical types (SPEC §1),
/// generated into each `#[Object]` impl so that GraphQL sees them on both.
/// Visible to the rest of `graphql` because `IdentitySession`
/// (`objects.rs`) resolves its fields by calling them.
macro_rules! session_object {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[Object]
        impl $name {
            /// The session's id, unique across all kinds.
            #[graphql(ready)]
            pub async fn id(&self) -> ID {
                ID(self.0.id.clone())
            }

            /// The effective status: a session past its expiry reads `EXPIRED`; `REVOKED` always wins.
            #[graphql(ready)]
            pub(super) async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<SessionStatus> {
                Ok(effective_status(&self.0, state(ctx)?.clock.now()).into())
            }

            /// Whether the session is active.
            #[graphql(deprecation = "Use `status`.", ready)]
            pub(super) async fn active(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
                Ok(effective_status(&self.0, state(ctx)?.clock.now()) == EffectiveStatus::Active)
            }

            /// The zone (tenant) the session belongs to.
            #[graphql(ready)]
            pub(super) async fn zone_id(&self) -> ID {
                ID(self.0.zone_id.clone())
            }

            /// The organization the session belongs to.
            #[graphql(ready)]
            pub(super) async fn organization_id(&self) -> Option<ID> {
                self.0.organization_id.clone().map(ID)
            }

            /// The id of the application the session was issued to.
            #[graphql(ready)]
            pub(super) async fn application_id(&self) -> Option<ID> {
                self.0.application_id.clone().map(ID)
            }

            /// The application the session was issued to.
            // Ready: the statement that read the session usually joined it in.
            #[graphql(ready)]
            pub(super) async fn application(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Application>> {
                let Some(id) = &self.0.application_id else { return Ok(None) };
                let state = state(ctx)?;
                let row = state.loaders.applications.load_one_by(&$crate::store::keys::ZonedIdRef::new(&self.0.zone_id, id)).await.map_err(Into::into);
                Ok(fail(state, row)?.map(Application))
            }

            /// When the subject last authenticated for this session.
            #[graphql(ready)]
            pub(super) async fn authenticated_at(&self) -> Option<DateTime> {
                self.0.authenticated_at.map(DateTime)
            }

            /// When the session was created.
            #[graphql(ready)]
            pub(super) async fn created_at(&self) -> Option<DateTime> {
                self.0.created_at.map(DateTime)
            }

            /// When the session was last updated.
            #[graphql(ready)]
            pub(super) async fn updated_at(&self) -> Option<DateTime> {
                self.0.updated_at.map(DateTime)
            }

            /// When the session expires.
            #[graphql(ready)]
            pub(super) async fn expires_at(&self) -> Option<DateTime> {
                self.0.expires_at.map(DateTime)
            }

            /// The issuer of the session's tokens.
            #[graphql(ready)]
            pub(super) async fn issuer(&self) -> Option<String> {
                self.0.issuer.clone()
            }

            /// The subject of the session's tokens.
            #[graphql(ready)]
            pub(super) async fn subject(&self) -> Option<String> {
                self.0.subject.clone()
            }

            /// The identity provider the subject authenticated with.
            #[graphql(ready)]
            pub(super) async fn provider_id(&self) -> Option<ID> {
                self.0.provider_id.clone().map(ID)
            }

            /// Display metadata.
            #[graphql(ready)]
            pub(super) async fn metadata(&self) -> Option<SessionMetadata> {
                self.0.metadata_name.clone().map(|name| SessionMetadata { name })
            }

            /// The session's claims: ID-token claims for user sessions, application claims otherwise.
            #[graphql(ready)]
            pub(super) async fn session_data(&self) -> Option<Json> {
                self.0.session_data().map(Json)
            }

            $($extra)*
        }
    };
}

pub(super) use session_object;
