//! The global pace of requests to Telegram, and how it finds the server's
//! limit: one pacer for the bot (the Bot API's 429 `retry_after`) and for
//! the signed-in person (MTProto's `FLOOD_WAIT_X`), each account with a
//! pace of its own. It depends on nothing else in orgform, so both
//! `telegram` and `mtproto` use it (DESIGN §1 table, in `architecture`).
//!
//! Telegram does not publish its limits for the admin methods orgform calls,
//! so no fixed pace is right: one safely below the limit wastes a fifth of
//! every long apply, one at the limit collides with it, and every 429 stops
//! all requests for at least a second. The pace therefore adapts:
//!
//! - Every request takes the next free slot (`1 / rate` apart); a 429's
//!   `retry_after` pushes every later slot past it, exactly as asked.
//! - The rate rises only while the pace is what holds the work back (most
//!   requests since the last change waited for their slot) and no 429 came
//!   for a while: by a quarter per second until the first 429 (nothing is
//!   known about the limit yet), then by 1% per ten seconds (probing
//!   whether the limit moved, so that collisions stay rare).
//! - A 429 cuts the rate by a tenth: more than one slot at any rate above
//!   ten a second, so the rate settles just under the limit instead of
//!   riding on it (multiplicative decrease, additive-like increase). Answers
//!   to requests sent before the cut say nothing new and cut nothing.
//!
//! The rate stays between [`FLOOR`] and the configured ceiling. What was
//! achieved is kept in [`PaceStats`] for apply's summary and the benchmarks.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The slowest the pace goes, whatever the 429s say.
pub const FLOOR: f64 = 1.0;

/// Growth per second before the first 429.
const SLOW_START: f64 = 1.25;
/// Growth per step after a 429, and the quiet time a step needs.
const PROBE: f64 = 1.01;
const PROBE_EVERY: Duration = Duration::from_secs(10);
/// What a 429 leaves of the rate.
const CUT: f64 = 0.9;

/// How the pace behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaceOptions {
    /// Requests per second to start from; `None` = unpaced (and not adapted).
    pub start: Option<f64>,
    /// The highest rate the pace may reach.
    pub ceiling: f64,
    /// Whether the rate adapts (otherwise it stays at `start`).
    pub adaptive: bool,
}

/// What the pace achieved so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct PaceStats {
    /// Requests sent (every attempt, 429s included).
    pub requests: u64,
    /// Answers that were 429.
    pub rate_limited: u64,
    /// Requests per second between the first and the last request.
    pub achieved_per_second: f64,
    /// The rate the pace runs at now (`0` when unpaced).
    pub current_per_second: f64,
    /// The highest rate the pace ran at.
    pub peak_per_second: f64,
}

/// The pace shared by every request of one client.
pub struct Pace {
    options: PaceOptions,
    state: Mutex<State>,
}

struct State {
    rate: f64,
    peak: f64,
    next: Option<Instant>,
    /// When the rate last changed, and what happened since.
    changed_at: Option<Instant>,
    sent_since_change: u64,
    waited_since_change: u64,
    /// Whether a 429 has been seen (ends the slow start).
    limited_once: bool,
    /// Requests sent before this instant cannot cut the rate again.
    cut_at: Option<Instant>,
    requests: u64,
    rate_limited: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

/// A slot taken: when its request may go out.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub at: Instant,
}

impl Pace {
    pub fn new(options: PaceOptions) -> Pace {
        let start = options.start.filter(|r| *r > 0.0 && r.is_finite());
        Pace {
            options: PaceOptions {
                start,
                ceiling: options.ceiling.max(start.unwrap_or(FLOOR)),
                ..options
            },
            state: Mutex::new(State {
                rate: start.unwrap_or(0.0),
                peak: start.unwrap_or(0.0),
                next: None,
                changed_at: None,
                sent_since_change: 0,
                waited_since_change: 0,
                limited_once: false,
                cut_at: None,
                requests: 0,
                rate_limited: 0,
                first: None,
                last: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take the next slot and wait for it.
    pub async fn wait_turn(&self) -> Slot {
        let slot = self.take(Instant::now());
        tokio::time::sleep_until(slot.at).await;
        slot
    }

    /// Take the next slot as of `now` (the clock is passed in for tests).
    pub fn take(&self, now: Instant) -> Slot {
        let mut s = self.lock();
        let paced = self.options.start.is_some();
        let slot = if paced {
            s.next.map_or(now, |n| n.max(now))
        } else {
            now
        };
        if paced {
            s.next = Some(slot + Duration::from_secs_f64(1.0 / s.rate));
        }
        s.requests += 1;
        s.first.get_or_insert(slot);
        s.last = Some(slot);
        s.sent_since_change += 1;
        // A slot more than a millisecond away: the pace holds the work back.
        if slot > now + Duration::from_millis(1) {
            s.waited_since_change += 1;
        }
        let changed_at = *s.changed_at.get_or_insert(now);
        if paced && self.options.adaptive {
            self.maybe_raise(&mut s, now, changed_at);
        }
        Slot { at: slot }
    }

    fn maybe_raise(&self, s: &mut State, now: Instant, changed_at: Instant) {
        let quiet = now.saturating_duration_since(changed_at);
        let (needed, factor) = if s.limited_once {
            (PROBE_EVERY, PROBE)
        } else {
            (Duration::from_secs(1), SLOW_START)
        };
        let saturated = s.waited_since_change * 2 >= s.sent_since_change;
        if quiet >= needed && saturated && s.rate < self.options.ceiling {
            s.rate = (s.rate * factor).min(self.options.ceiling);
            s.peak = s.peak.max(s.rate);
            s.changed_at = Some(now);
            s.sent_since_change = 0;
            s.waited_since_change = 0;
        } else if quiet >= needed {
            // Not saturated: start a new observation window at this rate.
            s.changed_at = Some(now);
            s.sent_since_change = 0;
            s.waited_since_change = 0;
        }
    }

    /// A request sent at `sent` was answered 429 at `now`: every later slot
    /// waits until `now + retry_after`, and the rate is cut once per burst.
    /// Returns when the request may be repeated.
    pub fn rate_limited(&self, sent: Slot, now: Instant, retry_after: Duration) -> Instant {
        let mut s = self.lock();
        s.rate_limited += 1;
        let until = now + retry_after;
        s.next = Some(s.next.map_or(until, |n| n.max(until)));
        let fresh = s.cut_at.is_none_or(|cut| sent.at >= cut);
        if self.options.start.is_some() && self.options.adaptive && fresh {
            s.rate = (s.rate * CUT).max(FLOOR);
            s.limited_once = true;
            s.cut_at = Some(now);
            // The quiet time counts from the end of the pause.
            s.changed_at = Some(until);
            s.sent_since_change = 0;
            s.waited_since_change = 0;
        }
        until
    }

    pub fn stats(&self) -> PaceStats {
        let s = self.lock();
        let span = match (s.first, s.last) {
            (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        PaceStats {
            requests: s.requests,
            rate_limited: s.rate_limited,
            achieved_per_second: if span > 0.0 {
                (s.requests.saturating_sub(1)) as f64 / span
            } else {
                0.0
            },
            current_per_second: s.rate,
            peak_per_second: s.peak,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adaptive(start: f64) -> Pace {
        Pace::new(PaceOptions {
            start: Some(start),
            ceiling: 200.0,
            adaptive: true,
        })
    }

    /// Drive the pace like a saturated client against a server that allows
    /// `limit` requests in any one-second window, for `seconds` of virtual
    /// time; returns (requests admitted, 429s).
    fn simulate(pace: &Pace, limit: usize, seconds: u64) -> (u64, u64) {
        let start = Instant::now();
        let end = start + Duration::from_secs(seconds);
        let mut window: std::collections::VecDeque<Instant> = Default::default();
        let mut now = start;
        let (mut admitted, mut limited) = (0u64, 0u64);
        while now < end {
            let slot = pace.take(now);
            now = slot.at;
            while window
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            if window.len() >= limit {
                limited += 1;
                let wait = Duration::from_secs(1) - now.saturating_duration_since(window[0]);
                let wait = Duration::from_secs(wait.as_secs_f64().ceil().max(1.0) as u64);
                pace.rate_limited(slot, now, wait);
            } else {
                window.push_back(now);
                admitted += 1;
            }
        }
        (admitted, limited)
    }

    #[test]
    fn unpaced_requests_never_wait() {
        let pace = Pace::new(PaceOptions {
            start: None,
            ceiling: 200.0,
            adaptive: true,
        });
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(pace.take(now).at, now);
        }
        assert_eq!(pace.stats().current_per_second, 0.0);
    }

    #[test]
    fn a_fixed_pace_spaces_requests_evenly() {
        let pace = Pace::new(PaceOptions {
            start: Some(10.0),
            ceiling: 200.0,
            adaptive: false,
        });
        let now = Instant::now();
        let slots: Vec<_> = (0..5).map(|_| pace.take(now).at).collect();
        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(100));
        }
    }

    #[test]
    fn retry_after_pushes_every_later_slot() {
        let pace = adaptive(10.0);
        let now = Instant::now();
        let slot = pace.take(now);
        let until = pace.rate_limited(slot, now, Duration::from_secs(3));
        assert_eq!(until, now + Duration::from_secs(3));
        assert!(pace.take(now).at >= until);
        assert_eq!(pace.stats().rate_limited, 1);
    }

    #[test]
    fn one_burst_of_429s_cuts_the_rate_once() {
        let pace = adaptive(20.0);
        let now = Instant::now();
        let slots: Vec<_> = (0..5).map(|_| pace.take(now)).collect();
        for slot in &slots {
            pace.rate_limited(
                *slot,
                now + Duration::from_millis(300),
                Duration::from_secs(1),
            );
        }
        let rate = pace.stats().current_per_second;
        assert!((rate - 18.0).abs() < 1e-9, "one cut by a tenth: {rate}");
    }

    #[test]
    fn settles_just_under_a_limit_of_30() {
        let pace = adaptive(25.0);
        let (admitted, limited) = simulate(&pace, 30, 300);
        let share = admitted as f64 / (30.0 * 300.0);
        assert!(share >= 0.9, "reaches 90% of the limit: {share:.3}");
        let limited_share = limited as f64 / (admitted + limited) as f64;
        assert!(
            limited_share <= 0.01,
            "at most 1% 429s: {limited} of {}",
            admitted + limited
        );
    }

    #[test]
    fn finds_a_limit_of_100_from_a_start_of_25() {
        let pace = adaptive(25.0);
        let (admitted, limited) = simulate(&pace, 100, 300);
        let share = admitted as f64 / (100.0 * 300.0);
        assert!(share >= 0.9, "reaches 90% of the limit: {share:.3}");
        assert!(limited as f64 <= 0.01 * (admitted + limited) as f64);
    }

    #[test]
    fn backs_off_below_a_limit_lower_than_the_start() {
        let pace = adaptive(25.0);
        let (_, limited) = simulate(&pace, 10, 120);
        let rate = pace.stats().current_per_second;
        assert!(rate <= 10.5, "settles under the limit: {rate}");
        assert!(limited < 60, "a few 429s to get there: {limited}");
    }

    #[test]
    fn does_not_rise_while_the_work_is_not_waiting() {
        let pace = adaptive(25.0);
        let mut now = Instant::now();
        for _ in 0..100 {
            // One request every 200 ms: far below the pace, never waits.
            pace.take(now);
            now += Duration::from_millis(200);
        }
        assert_eq!(pace.stats().current_per_second, 25.0);
    }

    #[test]
    fn never_passes_the_ceiling() {
        let pace = Pace::new(PaceOptions {
            start: Some(25.0),
            ceiling: 40.0,
            adaptive: true,
        });
        simulate(&pace, 1_000, 60);
        assert_eq!(pace.stats().peak_per_second, 40.0);
    }
}
