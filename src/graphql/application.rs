//! `Application`: an application registered with the identity platform.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::arguments::{SessionFilter, SessionListArguments, SessionOrder};
use super::enums::ApplicationOwnerType;
use super::objects::{Application, SessionConnection, SessionList};
use super::scalars::DateTime;
use crate::dataset::{ApplicationMetadata as StoredAppMetadata, ApplicationProtocols};
use crate::store::session_lists::Owner;

/// Documentation links of an application.
#[derive(SimpleObject, Clone)]
pub struct ApplicationMetadata {
    /// Where the application's documentation lives.
    pub docs_url: Option<String>,
}

/// The protocols an application speaks.
#[derive(SimpleObject, Clone)]
#[graphql(name = "ApplicationProtocols")]
pub struct Protocols {
    /// OAuth 2.0 settings.
    pub oauth2: Option<OAuth2Protocol>,
}

/// OAuth 2.0 settings of an application.
#[derive(SimpleObject, Clone)]
#[graphql(name = "OAuth2Protocol")]
pub struct OAuth2Protocol {
    /// Where users may be sent back to after signing in.
    pub redirect_uris: Option<Vec<String>>,
    /// Where users may be sent back to after signing out.
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

/// An application registered with the identity platform.
#[Object]
impl Application {
    /// The application's id, unique across all kinds.
    #[graphql(ready)]
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// When the application was created.
    #[graphql(ready)]
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the application was last updated.
    #[graphql(ready)]
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// How many other applications depend on this one.
    #[graphql(ready)]
    async fn dependencies_count(&self) -> i32 {
        self.0.dependencies_count
    }
    /// The application's identifier, unique within its zone.
    #[graphql(ready)]
    async fn identifier(&self) -> &str {
        &self.0.identifier
    }
    /// The application's display name.
    #[graphql(ready)]
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The organization the application belongs to.
    #[graphql(ready)]
    async fn organization_id(&self) -> ID {
        ID(self.0.organization_id.clone())
    }
    /// Who owns the application.
    #[graphql(ready)]
    async fn owner_type(&self) -> ApplicationOwnerType {
        self.0.owner_type.into()
    }
    /// The application's URL-safe name, unique within its zone.
    #[graphql(ready)]
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The zone (tenant) the application belongs to.
    #[graphql(ready)]
    async fn zone_id(&self) -> ID {
        ID(self.0.zone_id.clone())
    }
    /// A description of the application.
    #[graphql(ready)]
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Documentation links.
    #[graphql(ready)]
    async fn metadata(&self) -> Option<ApplicationMetadata> {
        let stored: StoredAppMetadata = serde_json::from_value(self.0.metadata.clone()?).ok()?;
        Some(ApplicationMetadata {
            docs_url: stored.docs_url,
        })
    }
    /// The protocols the application speaks.
    #[graphql(ready)]
    async fn protocols(&self) -> Option<Protocols> {
        let stored: ApplicationProtocols =
            serde_json::from_value(self.0.protocols.clone()?).ok()?;
        Some(Protocols {
            oauth2: stored.oauth2.map(|o| OAuth2Protocol {
                redirect_uris: o.redirect_uris,
                post_logout_redirect_uris: o.post_logout_redirect_uris,
            }),
        })
    }
    /// Sessions issued to this application. Entry sessions only unless `filter.includeNested`.
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
            owner: Owner::Application,
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
