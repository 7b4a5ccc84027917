//! Limits that hold under load: a request rate per tenant (a token bucket, GCRA, from
//! `governor`), concurrent uploads per process, and the request timeout. A limit reached is a
//! 429 with `Retry-After` that names it; the tenant's concurrent-operation cap is the services'.

use crate::problem::ApiError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ragd_core::Error;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The configured limits (`ragd serve` reads them from the configuration).
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Sustained requests per second of one tenant; 0 turns the rate limit off.
    pub requests_per_second: u32,
    /// Requests a tenant may send at once above the rate.
    pub burst: u32,
    /// Uploads (`POST /storage`, `POST /assets:file`) streaming at once in one process.
    pub concurrent_uploads: usize,
    /// Longest time a request (other than an upload or a `:watch` stream) may take.
    pub request_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            requests_per_second: 200,
            burst: 400,
            concurrent_uploads: 16,
            request_timeout: Duration::from_secs(120),
        }
    }
}

pub struct Limits {
    pub config: LimitsConfig,
    requests: Option<DefaultKeyedRateLimiter<String>>,
    uploads: Arc<Semaphore>,
}

impl Limits {
    pub fn new(config: LimitsConfig) -> Self {
        let requests = NonZeroU32::new(config.requests_per_second).map(|rate| {
            let burst =
                NonZeroU32::new(config.burst.max(config.requests_per_second)).expect("non-zero");
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        let uploads = Arc::new(Semaphore::new(config.concurrent_uploads.max(1)));
        Limits {
            config,
            requests,
            uploads,
        }
    }

    /// Counts one request of `tenant`; a 429 when its bucket is empty.
    pub fn admit(&self, tenant: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.requests else {
            return Ok(());
        };
        limiter.check_key(&tenant.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            ApiError(Error::RateLimited {
                detail: format!(
                    "tenant {tenant} sends more than {} requests per second (bursts of {}); slow down",
                    self.config.requests_per_second, self.config.burst
                ),
                retry_after_seconds: wait.as_secs_f64().ceil().max(1.0) as u64,
            })
        })?;
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        Ok(())
    }

    /// A slot for one upload, held while it streams; a 429 when all are taken.
    pub fn upload(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.uploads.clone().try_acquire_owned().map_err(|_| {
            ApiError(Error::RateLimited {
                detail: format!(
                    "{} uploads are streaming already, the most this server takes at once",
                    self.config.concurrent_uploads
                ),
                retry_after_seconds: 1,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_over_its_rate_gets_429_with_retry_after_and_others_do_not() {
        let limits = Limits::new(LimitsConfig {
            requests_per_second: 1,
            burst: 3,
            ..Default::default()
        });
        for _ in 0..3 {
            limits.admit("a").unwrap();
        }
        let e = limits.admit("a").unwrap_err();
        assert!(
            matches!(
                e.0,
                Error::RateLimited {
                    retry_after_seconds: 1,
                    ..
                }
            ),
            "{:?}",
            e.0
        );
        limits.admit("b").unwrap();
        let off = Limits::new(LimitsConfig {
            requests_per_second: 0,
            ..Default::default()
        });
        (0..1000).for_each(|_| off.admit("a").unwrap());
    }

    #[test]
    fn uploads_beyond_the_cap_are_refused_until_one_ends() {
        let limits = Limits::new(LimitsConfig {
            concurrent_uploads: 2,
            ..Default::default()
        });
        let (a, _b) = (limits.upload().unwrap(), limits.upload().unwrap());
        assert!(limits.upload().is_err());
        drop(a);
        let _c = limits.upload().unwrap();
    }
}
