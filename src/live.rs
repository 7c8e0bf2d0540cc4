//! Live session events: each process receives the events of every write on
//! its database (`store::events`: PostgreSQL's `NOTIFY` on one listening
//! connection outside the pool, or SQLite's outbox) and fans them out in
//! memory to its subscriptions, each through a bounded queue.
//!
//! When the listening connection drops, the process reconnects and sends
//! RESYNC to every subscription: events may have been missed meanwhile.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::Notify;

use prometheus_client::metrics::counter::Counter;

use crate::auth::Access;
use crate::store::events::{CHANNEL, EventKind, SessionEvent, SqliteOutbox, parse_payload};

/// How often a SQLite process looks for events of other connections.
const SQLITE_POLL: Duration = Duration::from_millis(100);
/// Outbox payloads a SQLite process keeps for slower pollers.
const SQLITE_KEEP: i64 = 10_000;

/// What a subscription asks for, beyond its zone (SPEC §5).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Any of these; `None` is every kind. RESYNC is not filtered.
    pub kinds: Option<Vec<EventKind>>,
    pub user_id: Option<String>,
    pub application_id: Option<String>,
    /// The root itself and every session below it.
    pub root_id: Option<String>,
}

/// What a subscription receives.
#[derive(Debug, Clone)]
pub enum Delivery {
    Event(Arc<SessionEvent>),
    /// Events may have been missed; refetch.
    Resync(DateTime<Utc>),
    /// The subscription's queue overflowed; it ends.
    Overflowed {
        capacity: usize,
    },
}

/// A subscription's queue: the hub pushes, the subscription pops. Idle, it
/// holds no buffer (a bounded tokio channel allocates a block of 32 slots
/// up front, about 1 KiB per idle subscriber); it grows while events wait
/// and gives the room back once drained.
#[derive(Default)]
pub struct Queue {
    deliveries: Mutex<VecDeque<Delivery>>,
    /// A permit per push, so a pop that finds nothing waits for the next.
    pushed: Notify,
    /// Set once the overflow notice is queued: nothing follows it.
    overflowed: AtomicBool,
}

/// Room a drained queue keeps; more is given back.
const QUEUE_KEEP: usize = 16;

impl Queue {
    /// The next delivery, waiting for one.
    pub async fn recv(&self) -> Delivery {
        loop {
            if let Some(delivery) = self.try_recv() {
                return delivery;
            }
            self.pushed.notified().await;
        }
    }

    /// The next delivery, if one waits.
    pub fn try_recv(&self) -> Option<Delivery> {
        let mut deliveries = self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let delivery = deliveries.pop_front();
        if deliveries.is_empty() && deliveries.capacity() > QUEUE_KEEP {
            deliveries.shrink_to(QUEUE_KEEP);
        }
        delivery
    }

    /// Queues `delivery`, or, with `capacity` deliveries already waiting,
    /// the overflow notice instead, after which nothing more is queued.
    /// Returns whether `delivery` was queued.
    fn push(&self, delivery: Delivery, capacity: usize) -> bool {
        if self.overflowed.load(Ordering::Relaxed) {
            return false;
        }
        let queued = {
            let mut deliveries = self
                .deliveries
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if deliveries.len() >= capacity {
                self.overflowed.store(true, Ordering::Relaxed);
                deliveries.push_back(Delivery::Overflowed { capacity });
                false
            } else {
                deliveries.push_back(delivery);
                true
            }
        };
        self.pushed.notify_one();
        queued
    }
}

struct Subscriber {
    id: u64,
    /// `None`: every organization (open mode, or a token without one).
    organization_id: Option<String>,
    filter: EventFilter,
    queue: Arc<Queue>,
}

impl Subscriber {
    fn wants(&self, event: &SessionEvent) -> bool {
        let filter = &self.filter;
        let organization_ok = match (&self.organization_id, &event.organization_id) {
            (None, _) | (_, None) => true,
            (Some(mine), Some(theirs)) => mine == theirs,
        };
        organization_ok
            && filter
                .kinds
                .as_ref()
                .is_none_or(|kinds| kinds.contains(&event.kind))
            && filter
                .user_id
                .as_ref()
                .is_none_or(|id| event.user_id.as_ref() == Some(id))
            && filter
                .application_id
                .as_ref()
                .is_none_or(|id| event.application_id.as_ref() == Some(id))
            && filter
                .root_id
                .as_ref()
                .is_none_or(|id| &event.root_id == id)
    }
}

/// Where this process's subscriptions wait for events, by zone.
pub struct EventHub {
    zones: Mutex<FxHashMap<String, Vec<Subscriber>>>,
    next_id: AtomicU64,
    queue_capacity: usize,
    counters: EventCounters,
}

/// What the hub counts for `/metrics`.
#[derive(Clone, Default)]
pub struct EventCounters {
    /// Events queued for a subscription that wants them.
    pub delivered: Counter,
    /// Events a full (or overflowed) queue could not take.
    pub dropped: Counter,
    /// RESYNC notices, each sent to every subscription.
    pub resyncs: Counter,
}

/// A subscription's end of the hub; leaving the hub when dropped.
pub struct Subscription {
    pub receiver: Arc<Queue>,
    hub: Arc<EventHub>,
    zone_id: String,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut zones = self
            .hub
            .zones
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(subscribers) = zones.get_mut(&self.zone_id) {
            subscribers.retain(|s| s.id != self.id);
            if subscribers.is_empty() {
                zones.remove(&self.zone_id);
            }
        }
    }
}

impl EventHub {
    pub fn new(queue_capacity: usize, counters: EventCounters) -> Arc<EventHub> {
        Arc::new(EventHub {
            zones: Mutex::default(),
            next_id: AtomicU64::new(1),
            queue_capacity: queue_capacity.max(1),
            counters,
        })
    }

    /// Subscribes `access`'s caller to a zone's events (the zone checked by
    /// the caller).
    pub fn subscribe(
        self: &Arc<Self>,
        zone_id: &str,
        access: &Access,
        filter: EventFilter,
    ) -> Subscription {
        let queue = Arc::new(Queue::default());
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.zones
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(zone_id.to_owned())
            .or_default()
            .push(Subscriber {
                id,
                organization_id: access.organization_id().map(str::to_owned),
                filter,
                queue: queue.clone(),
            });
        Subscription {
            receiver: queue,
            hub: self.clone(),
            zone_id: zone_id.to_owned(),
            id,
        }
    }

    /// Hands each event to the subscriptions that want it, in order.
    pub fn publish(&self, events: Vec<SessionEvent>) {
        let zones = self.zones.lock().unwrap_or_else(PoisonError::into_inner);
        for event in events {
            let Some(subscribers) = zones.get(&event.zone_id) else {
                continue;
            };
            let event = Arc::new(event);
            for subscriber in subscribers.iter().filter(|s| s.wants(&event)) {
                if self.deliver(subscriber, Delivery::Event(event.clone())) {
                    self.counters.delivered.inc();
                } else {
                    self.counters.dropped.inc();
                }
            }
        }
    }

    /// Tells every subscription, whatever its filter (SPEC §5), that
    /// events may have been missed.
    pub fn resync(&self) {
        // To the microsecond, as every instant the gateway stores or prints.
        let now = crate::timestamp::truncate_to_micros(Utc::now());
        self.counters.resyncs.inc();
        let zones = self.zones.lock().unwrap_or_else(PoisonError::into_inner);
        for subscriber in zones.values().flatten() {
            self.deliver(subscriber, Delivery::Resync(now));
        }
    }

    /// Whether the subscriber's queue took `delivery`.
    fn deliver(&self, subscriber: &Subscriber, delivery: Delivery) -> bool {
        subscriber.queue.push(delivery, self.queue_capacity)
    }
}

/// Receives this process's events from PostgreSQL for as long as it runs.
pub async fn listen_postgres(url: String, hub: Arc<EventHub>) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    loop {
        let mut listener = match connect_listener(&url).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "cannot reach PostgreSQL for session events");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "cannot LISTEN for session events");
            tokio::time::sleep(backoff).await;
            continue;
        }
        backoff = Duration::from_millis(100);
        if connected_before {
            tracing::info!("listening for session events again: RESYNC sent");
            hub.resync();
        }
        connected_before = true;
        loop {
            // `Ok(None)`: the connection was lost (sqlx reconnects on the
            // next call, but what was sent meanwhile is gone).
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(events) = parse_payload(notification.payload()) {
                        hub.publish(events);
                    }
                }
                Ok(None) => {
                    tracing::warn!("the session-events connection dropped; reconnecting");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "the session-events connection failed; reconnecting");
                    break;
                }
            }
        }
    }
}

/// The listening connection, with the startup parameters of the request
/// pool (`store::db`), so a pooler that refuses unknown ones lets it in. A
/// listening connection through a pooler is warned about: a transaction
/// pooler ends the session's `LISTEN` with its first transaction, and
/// events of other processes would silently never arrive.
async fn connect_listener(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    let options: PgConnectOptions = url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options.extra_float_digits(None));
    let behind_pooler = pool.acquire().await?.is_behind_pooler();
    if behind_pooler {
        tracing::warn!(
            "the session-events connection goes through a connection pooler: unless it pools \
             sessions, LISTEN does not last and events written through other processes never \
             arrive; point --notify-database-url at PostgreSQL itself"
        );
    }
    PgListener::connect_with(&pool).await
}

/// Polls a SQLite file's outbox for as long as it runs.
pub async fn poll_sqlite(url: String, hub: Arc<EventHub>) {
    let mut outbox = loop {
        match SqliteOutbox::open(&url).await {
            Ok(outbox) => break outbox,
            Err(error) => {
                tracing::warn!(%error, "cannot open the session-events outbox; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut ticks: u64 = 0;
    loop {
        tokio::time::sleep(SQLITE_POLL).await;
        match outbox.poll().await {
            Ok(events) if !events.is_empty() => hub.publish(events),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "reading the session-events outbox failed: RESYNC sent");
                hub.resync();
            }
        }
        ticks += 1;
        if ticks.is_multiple_of(600)
            && let Err(error) = outbox.prune(SQLITE_KEEP).await
        {
            tracing::debug!(%error, "pruning the session-events outbox");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> SessionEvent {
        SessionEvent {
            kind: EventKind::Revoked,
            zone_id: "zone_a".into(),
            session_id: format!("ses_{n}"),
            organization_id: Some("org_a".into()),
            user_id: Some("usr_a".into()),
            application_id: None,
            root_id: "ses_0".into(),
            occurred_at: 1,
            written_in: None,
        }
    }

    #[test]
    fn a_subscription_that_falls_behind_ends_with_the_limit_instead_of_growing() {
        let hub = EventHub::new(2, EventCounters::default());
        let subscription = hub.subscribe("zone_a", &Access::unrestricted(), EventFilter::default());
        hub.publish((0..5).map(event).collect());
        let mut received = Vec::new();
        while let Some(delivery) = subscription.receiver.try_recv() {
            received.push(delivery);
        }
        assert_eq!(received.len(), 3, "{received:?}");
        assert!(matches!(received[0], Delivery::Event(_)));
        assert!(matches!(received[1], Delivery::Event(_)));
        assert!(matches!(received[2], Delivery::Overflowed { capacity: 2 }));
        // Nothing more is queued for it, whatever follows.
        hub.publish((5..10).map(event).collect());
        hub.resync();
        assert!(subscription.receiver.try_recv().is_none());
    }

    #[test]
    fn filters_and_organizations_decide_who_receives() {
        let hub = EventHub::new(10, EventCounters::default());
        let other_org = crate::auth::Access::unrestricted();
        let everyone = hub.subscribe("zone_a", &other_org, EventFilter::default());
        let by_user = hub.subscribe(
            "zone_a",
            &other_org,
            EventFilter {
                user_id: Some("usr_b".into()),
                ..EventFilter::default()
            },
        );
        let other_zone = hub.subscribe("zone_b", &other_org, EventFilter::default());
        hub.publish(vec![event(1)]);
        assert!(matches!(
            everyone.receiver.try_recv(),
            Some(Delivery::Event(_))
        ));
        assert!(by_user.receiver.try_recv().is_none());
        assert!(other_zone.receiver.try_recv().is_none());
        // RESYNC reaches every subscription, whatever its filter.
        hub.resync();
        assert!(matches!(
            by_user.receiver.try_recv(),
            Some(Delivery::Resync(_))
        ));
        assert!(matches!(
            other_zone.receiver.try_recv(),
            Some(Delivery::Resync(_))
        ));
        drop(everyone);
        assert_eq!(hub.zones.lock().map(|z| z["zone_a"].len()).unwrap_or(0), 1);
    }
}
