//! `Subscription.sessionEvents` (SPEC §5): a zone's session events as they
//! are written, from the process's [`EventHub`].

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Subscription};
use futures_util::Stream;
use futures_util::stream;

use super::context::{fail, state};
use super::objects::Session;
use super::scalars::DateTime;
use std::time::Instant;

use crate::codes::Code;
use crate::live::{Delivery, EventFilter, EventHub};
use crate::store::events::{EventKind, SessionEvent as StoredEvent};
use crate::store::keys::ZonedId;
use crate::store::replicas::Freshness;

/// What happened to a session.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEventKind {
    /// The session was created (by an import).
    Created,
    /// The session was changed (by an import).
    Updated,
    /// The session was revoked, by itself or with an ancestor.
    Revoked,
    /// The session was deleted, by itself or with an ancestor.
    Deleted,
    /// Events may have been missed: refetch what you show.
    Resync,
}

impl From<EventKind> for SessionEventKind {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Created => SessionEventKind::Created,
            EventKind::Updated => SessionEventKind::Updated,
            EventKind::Revoked => SessionEventKind::Revoked,
            EventKind::Deleted => SessionEventKind::Deleted,
        }
    }
}

/// Which events a subscription receives. All given conditions must hold;
/// RESYNC always arrives.
#[derive(InputObject, Debug, Clone, Default)]
pub struct SessionEventFilter {
    /// Only events of these kinds.
    pub kinds: Option<Vec<SessionEventKind>>,
    /// Only events of this user's sessions.
    pub user_id: Option<ID>,
    /// Only events of this application's sessions.
    pub application_id: Option<ID>,
    /// Only events of this session and the sessions below it.
    pub root_id: Option<ID>,
}

impl From<SessionEventFilter> for EventFilter {
    fn from(filter: SessionEventFilter) -> Self {
        EventFilter {
            kinds: filter.kinds.map(|kinds| {
                kinds
                    .into_iter()
                    .filter_map(|kind| match kind {
                        SessionEventKind::Created => Some(EventKind::Created),
                        SessionEventKind::Updated => Some(EventKind::Updated),
                        SessionEventKind::Revoked => Some(EventKind::Revoked),
                        SessionEventKind::Deleted => Some(EventKind::Deleted),
                        SessionEventKind::Resync => None,
                    })
                    .collect()
            }),
            user_id: filter.user_id.map(|id| id.0),
            application_id: filter.application_id.map(|id| id.0),
            root_id: filter.root_id.map(|id| id.0),
        }
    }
}

/// Something that happened to a session of the zone, or RESYNC.
pub enum SessionEvent {
    Written(Arc<StoredEvent>),
    Resync {
        zone_id: String,
        at: chrono::DateTime<chrono::Utc>,
    },
}

/// Something that happened to a session of the zone.
#[Object]
impl SessionEvent {
    /// What happened.
    async fn kind(&self) -> SessionEventKind {
        match self {
            SessionEvent::Written(event) => event.kind.into(),
            SessionEvent::Resync { .. } => SessionEventKind::Resync,
        }
    }

    /// The session it happened to; null only for RESYNC.
    async fn session_id(&self) -> Option<ID> {
        match self {
            SessionEvent::Written(event) => Some(ID(event.session_id.clone())),
            SessionEvent::Resync { .. } => None,
        }
    }

    /// The zone of the subscription.
    async fn zone_id(&self) -> ID {
        match self {
            SessionEvent::Written(event) => ID(event.zone_id.clone()),
            SessionEvent::Resync { zone_id, .. } => ID(zone_id.clone()),
        }
    }

    /// When the write that caused it committed.
    async fn occurred_at(&self) -> DateTime {
        match self {
            SessionEvent::Written(event) => DateTime(event.occurred_at()),
            SessionEvent::Resync { at, .. } => DateTime(*at),
        }
    }

    /// The session as it reads now; null for DELETED and RESYNC.
    async fn session(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Session>> {
        let SessionEvent::Written(event) = self else {
            return Ok(None);
        };
        if event.kind == EventKind::Deleted {
            return Ok(None);
        }
        let state = state(ctx)?;
        let row = state
            .loaders
            .sessions
            .load_one(ZonedId::new(&event.zone_id, &event.session_id))
            .await
            .map_err(Into::into);
        Ok(fail(state, row)?.map(Session::from))
    }
}

pub struct Subscription;

/// Live changes.
#[Subscription]
impl Subscription {
    /// The zone's session events, from the moment of subscribing: one per
    /// session written, in the order written, once the write commits.
    async fn session_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The zone whose sessions to watch.")] zone_id: ID,
        #[graphql(desc = "Which events to receive; RESYNC always arrives.")] filter: Option<
            SessionEventFilter,
        >,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SessionEvent>> + use<>>
    {
        let state = state(ctx)?;
        fail(state, state.require_zone(&zone_id.0))?;
        let hub = ctx.data::<Arc<EventHub>>()?;
        let subscription =
            hub.subscribe(&zone_id.0, &state.access, filter.unwrap_or_default().into());
        let clock = state.clock.clone();
        let reader = state.reader.clone();
        let operation_span = state.operation_span.clone();
        let zone_id = zone_id.0;
        Ok(stream::unfold(Some(subscription), move |subscription| {
            let clock = clock.clone();
            let reader = reader.clone();
            let zone_id = zone_id.clone();
            let operation_span = operation_span.clone();
            async move {
                let subscription = subscription?;
                let delivery = subscription.receiver.recv().await;
                // Each event reads its session as it is at delivery, on a
                // replica only if it has replayed every commit made before
                // then, the write that sent the event included.
                clock.advance();
                reader.retarget(Freshness::AsOf(Instant::now()));
                Some(match delivery {
                    Delivery::Event(event) => {
                        crate::telemetry::event_delivered(
                            &operation_span,
                            event.kind.name(),
                            event.written_in.as_deref(),
                        );
                        (Ok(SessionEvent::Written(event)), Some(subscription))
                    }
                    Delivery::Resync(at) => {
                        (Ok(SessionEvent::Resync { zone_id, at }), Some(subscription))
                    }
                    Delivery::Overflowed { capacity } => (Err(overflowed(capacity)), None),
                })
            }
        }))
    }
}

/// The subscription fell `capacity` events behind and ends.
fn overflowed(capacity: usize) -> async_graphql::Error {
    Code::QueryTooComplex.error(
        format!(
            "the subscription fell {capacity} events behind (--subscription-queue) and was ended; subscribe again and refetch"
        ),
        |e| {
            e.set("limit", "subscriptionQueue");
            e.set("maximum", capacity as u64);
        },
    )
}
