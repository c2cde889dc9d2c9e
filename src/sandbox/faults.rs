//! Faults and limits, reproducible with a seed: a global request rate
//! (requests per second) and a per-chat limit (requests per minute), both
//! answered with 429 and an exact `retry_after`; random 500s; latency; and
//! dropped connections, half of them after the call took effect (the case a
//! client cannot tell apart from a lost request, and must survive).
//!
//! Limits use a sliding window of admitted requests, so `retry_after` is the
//! time until the oldest request leaves the window, rounded up: a client that
//! waits exactly that long gets through. Random draws happen in request
//! order from one seeded generator, three per admitted request whether or not
//! a fault is configured, so a sequence of calls meets the same faults in
//! every run with the same seed.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// How unreliable the sandbox should be. The default is perfectly reliable.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultOptions {
    /// Requests per second over all chats; `None` = unlimited.
    pub rate_limit_per_sec: Option<u32>,
    /// Requests per minute to one chat; `None` = unlimited.
    pub per_chat_per_min: Option<u32>,
    /// Probability (0–1) of answering 500 instead of running a call.
    pub fail_rate: f64,
    /// Probability (0–1) of cutting the connection instead of answering.
    pub drop_rate: f64,
    /// Added to every Bot API call.
    pub latency: Duration,
    /// Seed for every random decision.
    pub seed: u64,
}

/// What happens to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    /// 429 with this many seconds to wait.
    RateLimited(u64),
    /// 500 without running the call.
    Fail,
    /// Cut the connection; `after` = run the call first.
    Drop {
        after: bool,
    },
}

pub struct Faults {
    options: FaultOptions,
    rng: StdRng,
    global: VecDeque<Instant>,
    per_chat: HashMap<String, VecDeque<Instant>>,
}

impl Faults {
    pub fn new(options: FaultOptions) -> Faults {
        let rng = StdRng::seed_from_u64(options.seed);
        Faults {
            options,
            rng,
            global: VecDeque::new(),
            per_chat: HashMap::new(),
        }
    }

    pub fn latency(&self) -> Duration {
        self.options.latency
    }

    /// Decide the fate of a request to `chat` (the raw `chat_id`, if any).
    pub fn decide(&mut self, chat: Option<&str>, now: Instant) -> Verdict {
        if let Some(limit) = self.options.rate_limit_per_sec
            && let Some(wait) = window_wait(&mut self.global, limit, Duration::from_secs(1), now)
        {
            return Verdict::RateLimited(wait);
        }
        if let (Some(limit), Some(chat)) = (self.options.per_chat_per_min, chat) {
            let window = self.per_chat.entry(chat.to_string()).or_default();
            if let Some(wait) = window_wait(window, limit, Duration::from_secs(60), now) {
                return Verdict::RateLimited(wait);
            }
        }
        // Admitted: count it in the windows, then draw.
        if self.options.rate_limit_per_sec.is_some() {
            self.global.push_back(now);
        }
        if let (Some(_), Some(chat)) = (self.options.per_chat_per_min, chat) {
            self.per_chat
                .entry(chat.to_string())
                .or_default()
                .push_back(now);
        }
        let fail: f64 = self.rng.random();
        let drop: f64 = self.rng.random();
        let after: bool = self.rng.random();
        if fail < self.options.fail_rate {
            Verdict::Fail
        } else if drop < self.options.drop_rate {
            Verdict::Drop { after }
        } else {
            Verdict::Proceed
        }
    }
}

/// Seconds to wait before `window` has room for one more request, or `None`
/// when there is room now.
fn window_wait(
    window: &mut VecDeque<Instant>,
    limit: u32,
    span: Duration,
    now: Instant,
) -> Option<u64> {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= span)
    {
        window.pop_front();
    }
    if (window.len() as u64) < limit.max(1) as u64 {
        return None;
    }
    let oldest = *window.front()?;
    let free_at = oldest + span;
    let wait = free_at.saturating_duration_since(now);
    Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).map(|s| s.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let options = FaultOptions {
            fail_rate: 0.3,
            drop_rate: 0.2,
            seed: 7,
            ..Default::default()
        };
        let run = || {
            let mut f = Faults::new(options.clone());
            let now = Instant::now();
            (0..50).map(|_| f.decide(None, now)).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.contains(&Verdict::Fail) && a.iter().any(|v| matches!(v, Verdict::Drop { .. })));
    }

    #[test]
    fn rate_limit_window() {
        let mut f = Faults::new(FaultOptions {
            rate_limit_per_sec: Some(3),
            ..Default::default()
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(f.decide(None, t0), Verdict::Proceed);
        }
        assert_eq!(f.decide(None, t0), Verdict::RateLimited(1));
        assert_eq!(
            f.decide(None, t0 + Duration::from_secs(1)),
            Verdict::Proceed
        );
    }

    #[test]
    fn per_chat_limit_is_per_chat() {
        let mut f = Faults::new(FaultOptions {
            per_chat_per_min: Some(2),
            ..Default::default()
        });
        let t0 = Instant::now();
        assert_eq!(f.decide(Some("-1"), t0), Verdict::Proceed);
        assert_eq!(f.decide(Some("-1"), t0), Verdict::Proceed);
        assert_eq!(
            f.decide(Some("-1"), t0 + Duration::from_secs(10)),
            Verdict::RateLimited(50)
        );
        assert_eq!(f.decide(Some("-2"), t0), Verdict::Proceed);
    }
}
