//! When a request's batches load: once the request has nothing left to do
//! but wait, which is when every sibling resolver of a level has queued its
//! key. A time window (async-graphql's default is 1 ms) would add latency to
//! every level and still split batches whenever resolving a level takes
//! longer than it.
//!
//! Each batch runs as its own task, so the batches of one level (users,
//! applications, user agents, parents) decode their rows on both cores at
//! once. (Running them inside the request's task instead was measured 20%
//! slower at concurrency 1 and no faster at 16.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

/// Announces each time the request goes idle; batches wait for it.
#[derive(Clone)]
pub struct IdleSignal(Arc<watch::Sender<u64>>);

impl Default for IdleSignal {
    fn default() -> Self {
        IdleSignal(Arc::new(watch::channel(0).0))
    }
}

impl IdleSignal {
    /// The `DataLoader` spawner: runs each batch once the request is idle.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let signal = self.0.clone();
        move |load| {
            let mut became_idle = signal.subscribe();
            tokio::spawn(async move {
                // An error means the request finished: nothing more will queue.
                let _ = became_idle.changed().await;
                load.await;
            });
        }
    }
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
            self.idle
                .0
                .send_modify(|count| *count = count.wrapping_add(1));
        }
        result
    }
}
