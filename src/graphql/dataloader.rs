//! The dataloader: the keys one kind of field asks for collect in a
//! [`DataLoader`] and load together, through its [`Loader`], once the
//! request has nothing left to do but wait, which is when every sibling
//! resolver of a level has queued its key. A time window (async-graphql's
//! own `DataLoader` waits 1 ms) would add latency to every level and still
//! split batches whenever resolving a level takes longer than it.
//!
//! Each batch runs as its own task, so the batches of one level (users,
//! applications, user agents, parents) decode their rows on both cores at
//! once. (Running them inside the request's task instead was measured 20%
//! slower at concurrency 1 and no faster at 16.)

use std::future::Future;
use std::hash::Hash;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::metrics::RequestTally;

/// At most this many keys go into one statement: well under both
/// databases' bind-parameter limits.
const MAX_KEYS_PER_STATEMENT: usize = 1000;

/// Loads one kind of key, many at a time. A batch's failure answers every
/// key of it, so the error is shared and keeps its class.
pub trait Loader: Send + Sync + 'static {
    type Key: Hash + Eq + Clone + Send + Sync + 'static;
    type Value: Clone + Send + Sync + 'static;
    type Error: Clone + Send + Sync + 'static;

    fn load(
        &self,
        keys: &[Self::Key],
    ) -> impl Future<Output = Result<FxHashMap<Self::Key, Self::Value>, Self::Error>> + Send;
}

/// Announces each time the request goes idle; batches wait for it.
///
/// The channel is made when the first batch waits: a subscription that
/// never loads anything (most select no `session`) would otherwise keep
/// a watch channel, over 300 bytes, for each idle subscriber. Until then
/// an announcement has no listener and is dropped, as the channel would.
#[derive(Clone, Default)]
pub struct IdleSignal(Arc<OnceLock<watch::Sender<u64>>>);

impl IdleSignal {
    /// A receiver that sees the next announcement, and an error once the
    /// request (every clone of this signal) is gone.
    fn listen(&self) -> watch::Receiver<u64> {
        self.0.get_or_init(|| watch::channel(0).0).subscribe()
    }

    fn announce(&self) {
        if let Some(sender) = self.0.get() {
            sender.send_modify(|count| *count = count.wrapping_add(1));
        }
    }
}

/// Collects the keys one kind of field asks for and loads them together.
/// Built per request: nothing is shared or cached across requests.
pub struct DataLoader<L: Loader> {
    loader: Arc<L>,
    idle: IdleSignal,
    pending: Arc<Mutex<Pending<L>>>,
}

struct Pending<L: Loader> {
    keys: FxHashSet<L::Key>,
    batch: Option<Arc<Batch<L>>>,
    /// Values another statement already read (see [`Primer`]), found or
    /// not: their keys never join a batch. A hashbrown map, so that
    /// [`DataLoader::load_one_by`] looks them up by a borrowed key.
    primed: PrimedValues<L>,
}

/// Fills a [`DataLoader`] with values read by another statement (a page
/// that joined its sessions' users in), so that asking for them loads
/// nothing.
pub struct Primer<L: Loader>(Arc<Mutex<Pending<L>>>);

impl<L: Loader> Clone for Primer<L> {
    fn clone(&self) -> Self {
        Primer(self.0.clone())
    }
}

impl<L: Loader> Primer<L> {
    /// `None` records that nothing exists for the key, as a load that
    /// found nothing would.
    pub fn prime(&self, values: impl IntoIterator<Item = (L::Key, Option<L::Value>)>) {
        let mut pending = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        pending.primed.extend(values);
    }

    /// [`Self::prime`] with a whole map, taken as it is when nothing was
    /// primed yet (one statement usually joins a request's relations):
    /// moving it in rather than inserting entry by entry spares hashing
    /// each key again and growing the map a doubling at a time. A key
    /// primed twice keeps its later value, as with [`Self::prime`].
    pub fn prime_all(&self, mut values: PrimedValues<L>) {
        let mut pending = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.primed.len() < values.len() {
            std::mem::swap(&mut pending.primed, &mut values);
            for (key, value) in values {
                pending.primed.entry(key).or_insert(value);
            }
        } else {
            pending.primed.extend(values);
        }
    }
}

/// Values primed into a [`DataLoader`], by key.
pub type PrimedValues<L> =
    hashbrown::HashMap<<L as Loader>::Key, Option<<L as Loader>::Value>, FxBuildHasher>;

/// What loading a batch gave: a value per key found, or the batch's error.
type Outcome<L> = Result<FxHashMap<<L as Loader>::Key, <L as Loader>::Value>, <L as Loader>::Error>;

/// One statement's worth of keys, and its outcome once loaded.
struct Batch<L: Loader> {
    outcome: OnceLock<Outcome<L>>,
    loaded: Notify,
}

impl<L: Loader> DataLoader<L> {
    pub fn new(loader: L, idle: IdleSignal) -> Self {
        DataLoader {
            loader: Arc::new(loader),
            idle,
            pending: Arc::new(Mutex::new(Pending {
                keys: FxHashSet::default(),
                batch: None,
                primed: hashbrown::HashMap::default(),
            })),
        }
    }

    pub fn primer(&self) -> Primer<L> {
        Primer(self.pending.clone())
    }

    /// [`Self::load_one`] of the key `key` borrows from: a value another
    /// statement read (the usual case for a joined relation) is found
    /// without building the owned key.
    pub async fn load_one_by<Q>(&self, key: &Q) -> Result<Option<L::Value>, L::Error>
    where
        Q: Hash + hashbrown::Equivalent<L::Key> + ?Sized,
        for<'q> &'q Q: Into<L::Key>,
    {
        {
            let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(primed) = pending.primed.get(key) {
                return Ok(primed.clone());
            }
        }
        self.load_one(key.into()).await
    }

    /// The value for `key`, `None` when nothing was found for it. The key
    /// joins the batch being collected; the first key of a batch schedules
    /// its load for when the request next goes idle.
    pub async fn load_one(&self, key: L::Key) -> Result<Option<L::Value>, L::Error> {
        let batch = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(primed) = pending.primed.get(&key) {
                return Ok(primed.clone());
            }
            pending.keys.insert(key.clone());
            match &pending.batch {
                Some(batch) => batch.clone(),
                None => {
                    let batch = Arc::new(Batch {
                        outcome: OnceLock::new(),
                        loaded: Notify::new(),
                    });
                    pending.batch = Some(batch.clone());
                    self.schedule(batch.clone());
                    batch
                }
            }
        };
        let mut loaded = pin!(batch.loaded.notified());
        loop {
            // Registered before the outcome is checked, so a load that
            // finishes in between still wakes this waiter.
            loaded.as_mut().enable();
            if let Some(outcome) = batch.outcome.get() {
                return match outcome {
                    Ok(values) => Ok(values.get(&key).cloned()),
                    Err(error) => Err(error.clone()),
                };
            }
            loaded.as_mut().await;
            loaded.set(batch.loaded.notified());
        }
    }

    /// Runs the batch as its own task once the request is idle: every
    /// sibling resolver of a level has queued its key by then.
    fn schedule(&self, batch: Arc<Batch<L>>) {
        let mut became_idle = self.idle.listen();
        let loader = self.loader.clone();
        let pending = self.pending.clone();
        // The batch's span hangs under the resolver that queued its first key.
        let parent = crate::telemetry::tracing_on().then(tracing::Span::current);
        let request = RequestTally::current();
        tokio::spawn(RequestTally::within(request, async move {
            // An error means the request is gone (cancelled, timed out)
            // before ever going idle: nobody waits for this batch.
            if became_idle.changed().await.is_err() {
                return;
            }
            let keys: Vec<L::Key> = {
                let mut pending = pending.lock().unwrap_or_else(PoisonError::into_inner);
                pending.batch = None;
                pending.keys.drain().collect()
            };
            RequestTally::batch_loaded(kind::<L>(), keys.len());
            let span = match &parent {
                Some(parent) => crate::telemetry::dataloader_span(parent, kind::<L>(), keys.len()),
                None => tracing::Span::none(),
            };
            let (found, outcome) = async {
                let mut found = FxHashMap::default();
                let mut outcome = Ok(());
                for chunk in keys.chunks(MAX_KEYS_PER_STATEMENT) {
                    match loader.load(chunk).await {
                        Ok(values) => found.extend(values),
                        Err(error) => {
                            outcome = Err(error);
                            break;
                        }
                    }
                }
                (found, outcome)
            }
            .instrument(span)
            .await;
            let _ = batch.outcome.set(outcome.map(|()| found));
            batch.loaded.notify_waiters();
        }));
    }
}
/// What a loader loads, for its batches' spans: its type's name.
fn kind<L>() -> &'static str {
    let name = std::any::type_name::<L>();
    name.rsplit("::").next().unwrap_or(name)
}

/// Wraps the request future and signals each time it goes idle: it returned
/// `Pending` without having woken itself. (Combinators such as
/// `FuturesUnordered` yield with a self-wake after a number of polls, which
/// is not idle: more resolvers are about to queue keys.)
pub struct UntilIdle<F> {
    request: Pin<Box<F>>,
    idle: IdleSignal,
}

impl<F> UntilIdle<F> {
    pub fn new(request: F, idle: IdleSignal) -> Self {
        UntilIdle {
            request: Box::pin(request),
            idle,
        }
    }
}

struct WakeFlag {
    task: Waker,
    woken: AtomicBool,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake_by_ref();
    }
}

impl<F: Future> Future for UntilIdle<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let flag = Arc::new(WakeFlag {
            task: cx.waker().clone(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(flag.clone());
        let result = self.request.as_mut().poll(&mut Context::from_waker(&waker));
        if result.is_pending() && !flag.woken.load(Ordering::Acquire) {
            self.idle.announce();
        }
        result
    }
}

/// [`UntilIdle`] for a stream of responses (a subscription): signals each
/// time polling it goes idle, so the dataloaders of an event's fields load.
pub struct StreamUntilIdle<S> {
    responses: Pin<Box<S>>,
    idle: IdleSignal,
}

impl<S> StreamUntilIdle<S> {
    pub fn new(responses: S, idle: IdleSignal) -> Self {
        StreamUntilIdle {
            responses: Box::pin(responses),
            idle,
        }
    }
}

impl<S: futures_util::Stream> futures_util::Stream for StreamUntilIdle<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let flag = Arc::new(WakeFlag {
            task: cx.waker().clone(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(flag.clone());
        let result = self
            .responses
            .as_mut()
            .poll_next(&mut Context::from_waker(&waker));
        if result.is_pending() && !flag.woken.load(Ordering::Acquire) {
            self.idle.announce();
        }
        result
    }
}
