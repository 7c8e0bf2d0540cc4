//! Per-caller rate limit by query cost: a token bucket per `sub` that
//! refills at a steady rate, so a client can burst up to the bucket's size
//! and then gets its steady share. Off unless configured.
//!
//! The buckets live in this process: behind a load balancer each gateway
//! limits its own share, which bounds a caller's total to the sum of them.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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

pub struct CostRateLimiter {
    settings: RateLimitSettings,
    buckets: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl CostRateLimiter {
    pub fn new(settings: RateLimitSettings) -> Arc<Self> {
        let quota = Quota::per_second(settings.cost_per_second).allow_burst(settings.burst);
        let limiter = Arc::new(CostRateLimiter {
            settings,
            buckets: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
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

    /// Takes `cost` points from `caller`'s bucket, or says when to retry.
    pub fn check(&self, caller: &str, cost: u64) -> Result<(), RateLimited> {
        let refused = |retry_after: Duration| RateLimited {
            cost,
            burst: self.settings.burst.get(),
            cost_per_second: self.settings.cost_per_second.get(),
            retry_after,
        };
        // Even a free query takes a point, so flooding with `__typename`
        // is limited too.
        let points = NonZeroU32::new(u32::try_from(cost.max(1)).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        match self.buckets.check_key_n(&caller.to_owned(), points) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(refused(not_until.wait_time_from(self.clock.now()))),
            Err(_) => Err(refused(Duration::from_secs(
                u64::from(self.settings.burst.get())
                    .div_ceil(u64::from(self.settings.cost_per_second.get())),
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> Arc<CostRateLimiter> {
        CostRateLimiter::new(RateLimitSettings {
            cost_per_second: NonZeroU32::new(per_second).expect("nonzero"),
            burst: NonZeroU32::new(burst).expect("nonzero"),
        })
    }

    #[test]
    fn a_caller_spends_its_burst_then_waits() {
        let limiter = limiter(10, 100);
        assert!(limiter.check("alice", 60).is_ok());
        assert!(limiter.check("alice", 40).is_ok());
        let refused = limiter.check("alice", 50).expect_err("bucket empty");
        assert!(refused.retry_after > Duration::from_secs(3), "{refused:?}");
        assert!(refused.retry_after <= Duration::from_secs(5), "{refused:?}");
        // Another caller has their own bucket.
        assert!(limiter.check("bob", 100).is_ok());
    }

    #[test]
    fn a_query_costlier_than_the_burst_is_named() {
        let limiter = limiter(10, 100);
        let refused = limiter.check("alice", 500).expect_err("too costly");
        assert!(refused.to_string().contains("costs 500"), "{refused}");
        assert!(
            refused.to_string().contains("--rate-limit-burst"),
            "{refused}"
        );
    }
}
