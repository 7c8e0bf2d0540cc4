//! Per-caller rate limit by query cost: a token bucket per `sub` that
//! refills at a steady rate, so a client can burst up to the bucket's size
//! and then gets its steady share. Off unless configured.
//!
//! With shared state (`--redis-url`) the buckets live in Redis, so every
//! gateway process behind a load balancer draws on the same one per
//! caller. Otherwise, and while Redis is unreachable, they live in this
//! process, which bounds a caller's total to the sum over the processes.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::shared_state::SharedState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Cost points a caller regains per second.
    pub cost_per_second: NonZeroU32,
    /// The most cost points a caller can spend at once.
    pub burst: NonZeroU32,
}

/// Why a request was held back; `retry_after` is when enough points return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimited {
    pub cost: u64,
    pub burst: u32,
    pub cost_per_second: u32,
    pub retry_after: Duration,
}

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if u64::from(self.burst) < self.cost {
            write!(
                f,
                "rate limit: the query costs {}, more than the {} points a caller can spend at once (--rate-limit-burst)",
                self.cost, self.burst
            )
        } else {
            write!(
                f,
                "rate limit: the query costs {} points and the caller's bucket ({} points, refilling {} per second; --rate-limit-cost-per-second) holds fewer; retry after {} s",
                self.cost,
                self.burst,
                self.cost_per_second,
                self.retry_after.as_secs().max(1)
            )
        }
    }
}

/// GCRA over Redis, the same algorithm governor runs in memory: the key
/// holds the caller's theoretical arrival time (TAT), in microseconds of
/// Redis's own clock, so that gateways whose clocks disagree still share
/// one budget. Reading and moving the TAT happen in one script, which
/// Redis runs atomically: two processes can never both spend the last
/// points. The key expires when the bucket is full again, as an absent key
/// means a full bucket.
///
/// ARGV: microseconds per point, the burst, the cost. Returns 0 when the
/// cost is taken, else the microseconds until it could be.
const GCRA_SCRIPT: &str = r"
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next_tat = tat + interval * tonumber(ARGV[3])
local wait = next_tat - tolerance - now
if wait > 0 then return math.ceil(wait) end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
return 0
";

pub struct CostRateLimiter {
    settings: RateLimitSettings,
    buckets: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    /// Where the buckets live when Redis answers; `buckets` otherwise.
    shared: Option<Arc<SharedState>>,
    gcra: redis::Script,
}

impl CostRateLimiter {
    pub fn new(settings: RateLimitSettings, shared: Option<Arc<SharedState>>) -> Arc<Self> {
        let quota = Quota::per_second(settings.cost_per_second).allow_burst(settings.burst);
        let limiter = Arc::new(CostRateLimiter {
            settings,
            buckets: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            shared,
            gcra: redis::Script::new(GCRA_SCRIPT),
        });
        // Full buckets are indistinguishable from absent ones: dropping them
        // keeps memory bounded by the callers active in the last few seconds.
        let weak = Arc::downgrade(&limiter);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    let Some(limiter) = weak.upgrade() else { break };
                    limiter.buckets.retain_recent();
                    limiter.buckets.shrink_to_fit();
                }
            });
        }
        limiter
    }

    /// Takes `cost` points from `caller`'s bucket, or says when to retry:
    /// the shared bucket while Redis answers, this process's otherwise.
    pub async fn check(&self, caller: &str, cost: u64) -> Result<(), RateLimited> {
        let Some(shared) = &self.shared else {
            return self.check_locally(caller, cost);
        };
        let points = points(cost);
        if points.get() > self.settings.burst.get() {
            return Err(self.too_costly(cost));
        }
        let key = shared.key("ratelimit", caller);
        let interval = 1_000_000.0 / f64::from(self.settings.cost_per_second.get());
        // Boxed, as every Redis call is: its future is large, and only the
        // requests that reach Redis should carry it.
        let waited = Box::pin(shared.run(|mut connection| async move {
            self.gcra
                .key(key)
                .arg(interval.to_string())
                .arg(self.settings.burst.get())
                .arg(points.get())
                .invoke_async::<u64>(&mut connection)
                .await
        }))
        .await;
        match waited {
            Some(0) => Ok(()),
            Some(micros) => Err(self.refused(cost, Duration::from_micros(micros))),
            None => self.check_locally(caller, cost),
        }
    }

    /// [`check`](Self::check) on this process's buckets alone.
    fn check_locally(&self, caller: &str, cost: u64) -> Result<(), RateLimited> {
        match self.buckets.check_key_n(&caller.to_owned(), points(cost)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                Err(self.refused(cost, not_until.wait_time_from(self.clock.now())))
            }
            Err(_) => Err(self.too_costly(cost)),
        }
    }

    fn refused(&self, cost: u64, retry_after: Duration) -> RateLimited {
        RateLimited {
            cost,
            burst: self.settings.burst.get(),
            cost_per_second: self.settings.cost_per_second.get(),
            retry_after,
        }
    }

    /// A cost above the burst never fits; the client is told to wait for a
    /// full bucket, as that is the most it can ever spend.
    fn too_costly(&self, cost: u64) -> RateLimited {
        self.refused(
            cost,
            Duration::from_secs(
                u64::from(self.settings.burst.get())
                    .div_ceil(u64::from(self.settings.cost_per_second.get())),
            ),
        )
    }
}

/// The points a request takes. Even a free query takes one, so flooding
/// with `__typename` is limited too.
fn points(cost: u64) -> NonZeroU32 {
    NonZeroU32::new(u32::try_from(cost.max(1)).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> Arc<CostRateLimiter> {
        CostRateLimiter::new(
            RateLimitSettings {
                cost_per_second: NonZeroU32::new(per_second).expect("nonzero"),
                burst: NonZeroU32::new(burst).expect("nonzero"),
            },
            None,
        )
    }

    #[tokio::test]
    async fn a_caller_spends_its_burst_then_waits() {
        let limiter = limiter(10, 100);
        assert!(limiter.check("alice", 60).await.is_ok());
        assert!(limiter.check("alice", 40).await.is_ok());
        let refused = limiter.check("alice", 50).await.expect_err("bucket empty");
        assert!(refused.retry_after > Duration::from_secs(3), "{refused:?}");
        assert!(refused.retry_after <= Duration::from_secs(5), "{refused:?}");
        // Another caller has their own bucket.
        assert!(limiter.check("bob", 100).await.is_ok());
    }

    #[tokio::test]
    async fn a_query_costlier_than_the_burst_is_named() {
        let limiter = limiter(10, 100);
        let refused = limiter.check("alice", 500).await.expect_err("too costly");
        assert!(refused.to_string().contains("costs 500"), "{refused}");
        assert!(
            refused.to_string().contains("--rate-limit-burst"),
            "{refused}"
        );
    }
}
