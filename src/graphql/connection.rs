//! Relay connections: `SessionConnection` (lazy, batched through the
//! loader) and the plain connections of the other root lists.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Object, SimpleObject};

use super::context::{fail, state};
use super::loader::{SessionCountKey, SessionPage, SessionPageKey};
use super::pagination::{Cursor, OrderKey, Ordering, Page};
use super::session_lists::{ListArgs, Owner};
use super::session_row::SessionRow;
use super::types::{Application, Session, User, UserAgent};

/// Where the current page sits in the whole list.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// Whether more items follow this page (when paging forwards, `first`).
    pub has_next_page: bool,
    /// Whether items precede this page (when paging backwards, `last`).
    pub has_previous_page: bool,
    /// The cursor of the first item of the page; pass it as `before` for the previous page.
    pub start_cursor: Option<String>,
    /// The cursor of the last item of the page; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

fn page_info<T>(page: &Page<T>, cursor: impl Fn(&T) -> String) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: page.rows.first().map(&cursor),
        end_cursor: page.rows.last().map(&cursor),
    }
}

pub struct SessionConnection {
    pub zone_id: String,
    pub owner: Owner,
    pub owner_id: String,
    /// For descendants: the owner is the root of its tree.
    pub owner_is_root: bool,
    pub args: Arc<ListArgs>,
    /// Both the page and `totalCount` are selected and one statement can
    /// answer both (see [`ListArgs::counts_in_page`]).
    pub count_in_page: bool,
}

/// A session in a page, with the cursor that marks its position.
#[derive(SimpleObject)]
pub struct SessionEdge {
    /// Marks this session's position; pass it as `after` or `before`.
    pub cursor: String,
    /// The session.
    pub node: Session,
}

fn session_cursor(order: Ordering, row: &SessionRow) -> String {
    let key = match order.key {
        OrderKey::CreatedAt => row.created_at,
        OrderKey::ExpiresAt => row.expires_at,
        OrderKey::AuthenticatedAt => row.authenticated_at,
    };
    Cursor {
        key,
        id: row.id.clone(),
    }
    .encode(order)
}

impl SessionConnection {
    async fn load_page(&self, ctx: &Context<'_>) -> async_graphql::Result<Arc<SessionPage>> {
        let state = state(ctx)?;
        let key = SessionPageKey {
            zone_id: self.zone_id.clone(),
            owner: self.owner,
            owner_id: self.owner_id.clone(),
            args: self.args.clone(),
            with_total: self.count_in_page,
            owner_is_root: self.owner_is_root,
        };
        let page = state.loader.load_one(key).await.map_err(Into::into);
        Ok(fail(state, page)?.unwrap_or_else(|| {
            Arc::new(SessionPage {
                page: Page {
                    rows: Vec::new(),
                    has_next_page: false,
                    has_previous_page: false,
                },
                total: self.count_in_page.then_some(0),
            })
        }))
    }
}

/// A page of sessions.
#[Object]
impl SessionConnection {
    /// The sessions of this page with their cursors.
    async fn edges(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SessionEdge>> {
        let order = self.args.order;
        let loaded = self.load_page(ctx).await?;
        Ok(loaded
            .page
            .rows
            .iter()
            .map(|row| SessionEdge {
                cursor: session_cursor(order, row),
                node: Session::from(row.clone()),
            })
            .collect())
    }

    /// The sessions of this page.
    async fn nodes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Session>> {
        let loaded = self.load_page(ctx).await?;
        Ok(loaded
            .page
            .rows
            .iter()
            .cloned()
            .map(Session::from)
            .collect())
    }

    /// Pagination details of this page.
    async fn page_info(&self, ctx: &Context<'_>) -> async_graphql::Result<PageInfo> {
        let order = self.args.order;
        let loaded = self.load_page(ctx).await?;
        Ok(page_info(&loaded.page, |row| session_cursor(order, row)))
    }

    /// How many sessions the whole filtered list holds, whatever the cursor.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        if self.count_in_page
            && let Some(total) = self.load_page(ctx).await?.total
        {
            return Ok(total);
        }
        let state = state(ctx)?;
        let key = SessionCountKey {
            zone_id: self.zone_id.clone(),
            owner: self.owner,
            owner_id: self.owner_id.clone(),
            criteria: Arc::new(self.args.criteria.clone()),
            owner_is_root: self.owner_is_root,
        };
        let count = state.loader.load_one(key).await.map_err(Into::into);
        Ok(fail(state, count)?.unwrap_or(0))
    }
}

/// A connection over a root list of applications, users or user agents:
/// the page is fetched by the root field; `totalCount` runs its count only
/// when selected.
macro_rules! plain_connection {
    ($connection:ident, $edge:ident, $node:ty, $what:literal) => {
        #[doc = concat!("A page of ", $what, ".")]
        #[derive(SimpleObject)]
        #[graphql(complex)]
        pub struct $connection {
            #[doc = concat!("The ", $what, " of this page with their cursors.")]
            pub edges: Vec<$edge>,
            #[doc = concat!("The ", $what, " of this page.")]
            pub nodes: Vec<$node>,
            /// Pagination details of this page.
            pub page_info: PageInfo,
            #[graphql(skip)]
            pub count: super::query::CountQuery,
        }

        #[ComplexObject]
        impl $connection {
            #[doc = concat!("How many ", $what, " the whole list holds, whatever the cursor.")]
            async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
                self.count.run(ctx).await
            }
        }

        #[doc = concat!("One of the ", $what, " in a page, with the cursor that marks its position.")]
        #[derive(SimpleObject)]
        pub struct $edge {
            /// Marks this item's position; pass it as `after` or `before`.
            pub cursor: String,
            /// The item.
            pub node: $node,
        }

        impl $connection {
            pub fn new(page: Page<(String, $node)>, count: super::query::CountQuery) -> Self {
                let info = PageInfo {
                    has_next_page: page.has_next_page,
                    has_previous_page: page.has_previous_page,
                    start_cursor: page.rows.first().map(|(c, _)| c.clone()),
                    end_cursor: page.rows.last().map(|(c, _)| c.clone()),
                };
                let nodes = page.rows.iter().map(|(_, node)| node.clone()).collect();
                let edges = page.rows.into_iter().map(|(cursor, node)| $edge { cursor, node }).collect();
                $connection { edges, nodes, page_info: info, count }
            }
        }
    };
}

plain_connection!(
    ApplicationConnection,
    ApplicationEdge,
    Application,
    "applications"
);
plain_connection!(UserConnection, UserEdge, User, "users");
plain_connection!(UserAgentConnection, UserAgentEdge, UserAgent, "user agents");
