//! Capped exponential backoff with "equal jitter", shared by every retry loop
//! of the core: half of each delay is fixed, half random, so a crowd of
//! consoles that lost the same server does not come back in step.

use crate::time::Duration;

/// A seedable jitter source (xorshift64*: small, no dependency, good enough
/// for spreading retries; not for anything secret).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A source seeded with `seed` (any value; zero is remapped, since
    /// xorshift would stay at zero).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The delay before retry number `attempt` (0 = the first retry):
    /// `base · 2^attempt`, capped at `cap`, of which a random half is kept.
    pub fn backoff(&mut self, base: Duration, cap: Duration, attempt: u32) -> Duration {
        let exp = base.0.saturating_mul(1u64 << attempt.min(20));
        let capped = exp.min(cap.0).max(1);
        let half = capped / 2;
        Duration(half + self.next_u64() % (capped - half + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_stay_capped_and_differ_by_seed() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(30));
        let mut j = Jitter::new(7);
        for attempt in 0..40 {
            let d = j.backoff(base, cap, attempt);
            let full = (1000u64 << attempt.min(20)).min(30_000);
            assert!(d.0 >= full / 2 && d.0 <= full, "attempt {attempt}: {d:?}");
        }
        let a: Vec<_> = (0..8).map(|i| Jitter::new(1).backoff(base, cap, i)).collect();
        let b: Vec<_> = (0..8).map(|i| Jitter::new(2).backoff(base, cap, i)).collect();
        assert_ne!(a, b);
        assert_ne!(Jitter::new(0).next_u64(), 0);
    }
}
