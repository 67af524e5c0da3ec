//! Exponential backoff with full jitter.

use std::time::Duration;

use super::bucket::PolitenessError;

/// `delay(attempt) = random01 × min(max, base × factor^attempt)` ("full jitter").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Ceiling for attempt 0.
    pub base: Duration,
    /// Largest ceiling.
    pub max: Duration,
    /// Growth per attempt (at least 1).
    pub factor: f64,
}

impl Backoff {
    /// A checked schedule: `factor` must be finite and ≥ 1, and `base ≤ max`.
    pub fn new(base: Duration, max: Duration, factor: f64) -> Result<Self, PolitenessError> {
        if !(factor.is_finite() && factor >= 1.0) {
            return Err(PolitenessError::InvalidBackoff(
                "factor must be a finite number >= 1",
            ));
        }
        if base > max {
            return Err(PolitenessError::InvalidBackoff("base must not exceed max"));
        }
        Ok(Backoff { base, max, factor })
    }

    /// The ceiling for `attempt` (0-based): `min(max, base × factor^attempt)`. Saturates at
    /// `max` instead of overflowing; a NaN or sub-1 factor (struct built by hand) is treated
    /// as 1.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = if self.factor.is_finite() && self.factor >= 1.0 {
            self.factor
        } else {
            1.0
        };
        let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
        let secs = self.base.as_secs_f64() * factor.powi(exp);
        let max = self.max.as_secs_f64();
        if !secs.is_finite() || secs >= max {
            self.max
        } else {
            Duration::from_secs_f64(secs.max(0.0))
        }
    }

    /// The delay before retry number `attempt` given a uniform random number in `[0, 1]`
    /// supplied by the caller. Out-of-range or NaN `random01` is clamped (NaN → 0).
    pub fn delay(&self, attempt: u32, random01: f64) -> Duration {
        let r = if random01.is_nan() {
            0.0
        } else {
            random01.clamp(0.0, 1.0)
        };
        self.ceiling(attempt).mul_f64(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b() -> Backoff {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 2.0).unwrap()
    }

    #[test]
    fn ceilings_grow_and_cap() {
        let b = b();
        assert_eq!(b.ceiling(0), Duration::from_secs(1));
        assert_eq!(b.ceiling(3), Duration::from_secs(8));
        assert_eq!(b.ceiling(6), Duration::from_secs(60));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn full_jitter() {
        let b = b();
        assert_eq!(b.delay(3, 0.0), Duration::ZERO);
        assert_eq!(b.delay(3, 0.5), Duration::from_secs(4));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(b.delay(3, 7.0), Duration::from_secs(8));
        assert_eq!(b.delay(3, -1.0), Duration::ZERO);
        assert_eq!(b.delay(3, f64::NAN), Duration::ZERO);
    }

    #[test]
    fn validation() {
        let s = Duration::from_secs;
        assert!(Backoff::new(s(1), s(2), 0.5).is_err());
        assert!(Backoff::new(s(1), s(2), f64::NAN).is_err());
        assert!(Backoff::new(s(3), s(2), 2.0).is_err());
        let hand = Backoff {
            base: s(1),
            max: s(10),
            factor: f64::NAN,
        };
        assert_eq!(hand.ceiling(5), s(1));
    }
}
