//! The connections of the zone-wide lists of applications, users and user
//! agents: the page is read by the root field (`Query.applications` and the
//! others); `totalCount` runs its count only when selected.

use async_graphql::{ComplexObject, Context, SimpleObject};

use super::context::{fail, state};
use super::errors::ApiError;
use super::objects::{Application, User, UserAgent};
use super::session_connection::PageInfo;
use crate::store::Table;
use crate::store::keyset::Page;

/// `totalCount` of a zone-wide list, run only when selected.
#[derive(Debug, Clone)]
pub struct ZoneCount {
    pub table: Table,
    pub zone_id: String,
}

impl ZoneCount {
    async fn run(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let state = state(ctx)?;
        let total = state
            .reader
            .count_in_zone(self.table, &self.zone_id)
            .await
            .map_err(ApiError::from);
        fail(state, total)
    }
}

/// A connection over a zone-wide list; `Query` fills its page.
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
            pub count: ZoneCount,
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
            pub fn new(page: Page<(String, $node)>, count: ZoneCount) -> Self {
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
