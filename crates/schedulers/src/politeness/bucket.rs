//! Token bucket for commands per second per cluster.

use std::time::Duration;

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolitenessError {
    /// The rate is not a positive finite number.
    #[error("invalid commands per second {0}: use a positive number, e.g. 2")]
    InvalidRate(f64),
    /// The burst is zero.
    #[error("invalid burst 0: use at least 1")]
    InvalidBurst,
    /// Backoff parameters out of range.
    #[error("invalid backoff: {0}")]
    InvalidBackoff(&'static str),
}

/// A token bucket: up to `burst` commands at once, refilled at `rate_per_sec`.
///
/// Time is a monotonic `Duration` since any fixed origin, supplied by the caller. The bucket
/// starts full. A `now` earlier than a previous call (a clock that went backwards) refills
/// nothing and never panics.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Option<Duration>,
}

impl TokenBucket {
    /// A full bucket. Fails for a rate that is not positive and finite, or a zero burst.
    pub fn new(rate_per_sec: f64, burst: u32) -> Result<Self, PolitenessError> {
        if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) {
            return Err(PolitenessError::InvalidRate(rate_per_sec));
        }
        if burst == 0 {
            return Err(PolitenessError::InvalidBurst);
        }
        Ok(TokenBucket {
            rate: rate_per_sec,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: None,
        })
    }

    fn refill(&mut self, now: Duration) {
        if let Some(last) = self.last {
            if let Some(dt) = now.checked_sub(last) {
                self.tokens = (self.tokens + dt.as_secs_f64() * self.rate).min(self.burst);
                self.last = Some(now);
            }
        } else {
            self.last = Some(now);
        }
    }

    /// Take one token at time `now`: `Ok(())`, or `Err(wait)` with how long until one is
    /// available (nothing is taken then).
    pub fn try_take(&mut self, now: Duration) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let secs = (1.0 - self.tokens) / self.rate;
            Err(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
        }
    }

    /// Tokens available at the last call (for status displays).
    pub fn available(&self) -> f64 {
        self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(f64) -> Duration = Duration::from_secs_f64;

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(2.0, 3).unwrap();
        let t0 = S(100.0);
        for _ in 0..3 {
            assert!(b.try_take(t0).is_ok());
        }
        let wait = b.try_take(t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert!(b.try_take(S(100.25)).is_err());
        assert!(b.try_take(S(100.5)).is_ok());
        // a long pause refills only up to the burst
        let t = S(1000.0);
        for _ in 0..3 {
            assert!(b.try_take(t).is_ok());
        }
        assert!(b.try_take(t).is_err());
    }

    #[test]
    fn clock_going_backwards_is_harmless() {
        let mut b = TokenBucket::new(1.0, 1).unwrap();
        assert!(b.try_take(S(10.0)).is_ok());
        assert!(b.try_take(S(5.0)).is_err());
        assert!(b.try_take(S(11.0)).is_ok());
    }

    #[test]
    fn rejects_bad_config() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(TokenBucket::new(r, 1).is_err(), "{r}");
        }
        assert_eq!(TokenBucket::new(1.0, 0), Err(PolitenessError::InvalidBurst));
        let mut tiny = TokenBucket::new(1e-300, 1).unwrap();
        assert!(tiny.try_take(Duration::ZERO).is_ok());
        assert_eq!(tiny.try_take(Duration::ZERO), Err(Duration::MAX));
    }
}
