//! `SessionConnection`: every list of sessions (`sessions`, `children`,
//! `descendants`), loaded lazily and batched through the request's
//! dataloaders.

use std::sync::Arc;

use async_graphql::{Context, Lookahead, Object, SimpleObject};

use super::arguments::SessionListArguments;
use super::context::{RequestState, fail, state};
use super::joins::ConnectionSelection;
use super::loaders::{SessionCountKey, SessionPage, SessionPageKey};
use super::objects::{Session, SessionConnection, SessionList};
use crate::store::SessionRow;
use crate::store::joins::SessionJoins;
use crate::store::keyset::{Cursor, OrderKey, Ordering, Page};
use crate::store::session_lists::{ListArgs, Owner};

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

pub fn page_info<T>(page: &Page<T>, cursor: impl Fn(&T) -> String) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: page.rows.first().map(&cursor),
        end_cursor: page.rows.last().map(&cursor),
    }
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
    /// The connection `arguments` ask for, or an error for bad arguments
    /// (and for a zone list outside the caller's zones).
    pub fn of(
        ctx: &Context<'_>,
        list: SessionList<'_>,
        arguments: SessionListArguments,
    ) -> async_graphql::Result<SessionConnection> {
        let state = state(ctx)?;
        if list.owner == Owner::Zone {
            fail(state, state.require_zone(list.zone_id))?;
        }
        let args = fail(state, arguments.validate())?;
        Ok(SessionConnection::with_args(ctx, list, args))
    }

    /// The connection of validated `args`. Nothing loads until one of its
    /// fields is resolved.
    pub fn with_args(ctx: &Context<'_>, list: SessionList<'_>, args: ListArgs) -> Self {
        let selection = match ctx.data_opt::<RequestState>() {
            Some(state) => state
                .connection_selections
                .get_or_insert_with(ctx.item, || ConnectionSelection::of(&ctx.look_ahead())),
            None => Arc::new(ConnectionSelection::of(&ctx.look_ahead())),
        };
        let shape = ConnectionShape::from_selection(&selection, list.owner, &args);
        SessionConnection::shaped(list, Arc::new(args), shape)
    }

    /// The connection of validated `args` that `shape` reads.
    pub fn shaped(list: SessionList<'_>, args: Arc<ListArgs>, shape: ConnectionShape) -> Self {
        SessionConnection {
            zone_id: list.zone_id.to_owned(),
            owner: list.owner,
            owner_id: list.owner_id.to_owned(),
            owner_is_root: list.owner_is_root,
            args,
            count_in_page: shape.count_in_page,
            joins: shape.joins,
            loaded: tokio::sync::OnceCell::new(),
        }
    }

    /// The key its page loads under: a page another statement read under
    /// it (see `User::find_with_sessions`) is not read again.
    pub fn page_key(&self) -> SessionPageKey {
        SessionPageKey {
            zone_id: self.zone_id.clone(),
            owner: self.owner,
            owner_id: self.owner_id.clone(),
            args: self.args.clone(),
            with_total: self.count_in_page,
            owner_is_root: self.owner_is_root,
            joins: self.joins.clone(),
        }
    }

    async fn load_page(&self, ctx: &Context<'_>) -> async_graphql::Result<Arc<SessionPage>> {
        let state = state(ctx)?;
        let page = self
            .loaded
            .get_or_init(|| state.loaders.session_pages.load_one(self.page_key()))
            .await
            .clone()
            .map_err(Into::into);
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

/// What a connection's selection reads besides its arguments.
pub struct ConnectionShape {
    /// A page is read: `nodes`, `edges` or `pageInfo` is selected.
    pub reads_page: bool,
    /// `totalCount` comes with the page ([`ListArgs::counts_in_page`]).
    pub count_in_page: bool,
    /// The to-one relations read with the page.
    pub joins: Arc<SessionJoins>,
}

impl ConnectionShape {
    /// The shape `selection` (a connection field's) gives a list of `owner`.
    pub fn of(selection: &Lookahead<'_>, owner: Owner, args: &ListArgs) -> Self {
        Self::from_selection(&ConnectionSelection::of(selection), owner, args)
    }

    fn from_selection(selection: &ConnectionSelection, owner: Owner, args: &ListArgs) -> Self {
        ConnectionShape {
            reads_page: selection.reads_page,
            count_in_page: selection.reads_page
                && args.counts_in_page(owner)
                && selection.total_count,
            joins: selection.joins.clone(),
        }
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
        let count = state
            .loaders
            .session_counts
            .load_one(key)
            .await
            .map_err(Into::into);
        Ok(fail(state, count)?.unwrap_or(0))
    }
}
