//! Live session events: each process receives the events of every write on
//! its database (`store::events`: PostgreSQL's `NOTIFY` on one listening
//! connection outside the pool, or SQLite's outbox) and fans them out in
//! memory to its subscriptions, each through a bounded queue.
//!
//! When the listening connection drops, the process reconnects and sends
//! RESYNC to every subscription: events may have been missed meanwhile.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::mpsc;

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

struct Subscriber {
    id: u64,
    /// `None`: every organization (open mode, or a token without one).
    organization_id: Option<String>,
    filter: EventFilter,
    sender: mpsc::Sender<Delivery>,
    overflowed: Arc<AtomicBool>,
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
}

/// A subscription's end of the hub; leaving the hub when dropped.
pub struct Subscription {
    pub receiver: mpsc::Receiver<Delivery>,
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
    pub fn new(queue_capacity: usize) -> Arc<EventHub> {
        Arc::new(EventHub {
            zones: Mutex::default(),
            next_id: AtomicU64::new(1),
            queue_capacity: queue_capacity.max(1),
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
        // One more slot than the limit, for the overflow notice itself.
        let (sender, receiver) = mpsc::channel(self.queue_capacity + 1);
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
                sender,
                overflowed: Arc::new(AtomicBool::new(false)),
            });
        Subscription {
            receiver,
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
                self.deliver(subscriber, Delivery::Event(event.clone()));
            }
        }
    }

    /// Tells every subscription, whatever its filter (SPEC §5), that
    /// events may have been missed.
    pub fn resync(&self) {
        let now = Utc::now();
        let zones = self.zones.lock().unwrap_or_else(PoisonError::into_inner);
        for subscriber in zones.values().flatten() {
            self.deliver(subscriber, Delivery::Resync(now));
        }
    }

    fn deliver(&self, subscriber: &Subscriber, delivery: Delivery) {
        if subscriber.overflowed.load(Ordering::Relaxed) {
            return;
        }
        // The queue holds the limit; its last slot is for the notice.
        if subscriber.sender.capacity() <= 1 {
            subscriber.overflowed.store(true, Ordering::Relaxed);
            let _ = subscriber.sender.try_send(Delivery::Overflowed {
                capacity: self.queue_capacity,
            });
            return;
        }
        let _ = subscriber.sender.try_send(delivery);
    }
}

/// Receives this process's events from PostgreSQL for as long as it runs.
pub async fn listen_postgres(url: String, hub: Arc<EventHub>) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    loop {
        let mut listener = match PgListener::connect(&url).await {
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
        }
    }

    #[test]
    fn a_subscription_that_falls_behind_ends_with_the_limit_instead_of_growing() {
        let hub = EventHub::new(2);
        let mut subscription =
            hub.subscribe("zone_a", &Access::unrestricted(), EventFilter::default());
        hub.publish((0..5).map(event).collect());
        let mut received = Vec::new();
        while let Ok(delivery) = subscription.receiver.try_recv() {
            received.push(delivery);
        }
        assert_eq!(received.len(), 3, "{received:?}");
        assert!(matches!(received[0], Delivery::Event(_)));
        assert!(matches!(received[1], Delivery::Event(_)));
        assert!(matches!(received[2], Delivery::Overflowed { capacity: 2 }));
        // Nothing more is queued for it, whatever follows.
        hub.publish((5..10).map(event).collect());
        hub.resync();
        assert!(subscription.receiver.try_recv().is_err());
    }

    #[test]
    fn filters_and_organizations_decide_who_receives() {
        let hub = EventHub::new(10);
        let other_org = crate::auth::Access::unrestricted();
        let mut everyone = hub.subscribe("zone_a", &other_org, EventFilter::default());
        let mut by_user = hub.subscribe(
            "zone_a",
            &other_org,
            EventFilter {
                user_id: Some("usr_b".into()),
                ..EventFilter::default()
            },
        );
        let mut other_zone = hub.subscribe("zone_b", &other_org, EventFilter::default());
        hub.publish(vec![event(1)]);
        assert!(matches!(
            everyone.receiver.try_recv(),
            Ok(Delivery::Event(_))
        ));
        assert!(by_user.receiver.try_recv().is_err());
        assert!(other_zone.receiver.try_recv().is_err());
        // RESYNC reaches every subscription, whatever its filter.
        hub.resync();
        assert!(matches!(
            by_user.receiver.try_recv(),
            Ok(Delivery::Resync(_))
        ));
        assert!(matches!(
            other_zone.receiver.try_recv(),
            Ok(Delivery::Resync(_))
        ));
        drop(everyone);
        assert_eq!(hub.zones.lock().map(|z| z["zone_a"].len()).unwrap_or(0), 1);
    }
}
