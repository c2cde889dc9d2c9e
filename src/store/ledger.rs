//! What `orgform watch` keeps beside the records, and the transaction that
//! makes an update count exactly once.
//!
//! The member ledger itself is the `members` records (so `plan`, `drift`
//! and `apply` read what watch saw through the ordinary [`Store`]
//! snapshot). This module adds *facts*: small keyed values only watch
//! writes — who was greeted, which deliveries are waiting or were sent,
//! the decisions taken on join requests with their why-trace, the last
//! heartbeat, when the last full member check ran — and the one write
//! that matters: [`Ledger::commit_update`] writes an update's records, its
//! facts and the new update offset in **one** transaction, before the
//! update is acknowledged to Telegram. A crash before the commit loses
//! nothing (Telegram sends the update again); a crash after it repeats
//! nothing (the offset moved with the effect).
//!
//! The single-instance lease is a fact too, taken and renewed in its own
//! transactions ([`Ledger::take_lease`]).
//!
//! [`Store`]: super::Store

use serde::{Deserialize, Serialize};

use super::backend::{Holder, StoreError};
use super::records::Delta;

/// How long Telegram keeps an update that nobody fetched.
pub const TELEGRAM_KEEPS_UPDATES: i64 = 24 * 3600;

/// Fact keys (prefixes end with ':').
pub mod keys {
    /// Unix time watch was last known alive (every commit and every tick).
    pub const HEARTBEAT: &str = "watch.heartbeat";
    /// Unix time the last full member check finished.
    pub const FULL_CHECK: &str = "watch.full_check";
    /// Set (to the unix time it was found) while the ledger may be missing
    /// updates Telegram dropped; cleared by a full member check.
    pub const STALE_SINCE: &str = "watch.stale_since";
    /// Why the ledger was marked stale (text for plan and drift), beside
    /// [`STALE_SINCE`]; absent means watch was down longer than 24 h.
    pub const STALE_REASON: &str = "watch.stale_reason";
    /// The single-instance lease (JSON [`super::Lease`]).
    pub const LEASE: &str = "watch.lease";
    /// `greeted:<chat>:<user>`: a welcome was sent (or its outcome is unknown).
    pub const GREETED: &str = "greeted:";
    /// `undelivered:<chat>:<user>`: apply could not deliver a personal
    /// invite (JSON `watch::invites::Undelivered`).
    pub const UNDELIVERED: &str = "undelivered:";
    /// `delivered:<chat>:<user>`: watch sent the person their pending
    /// personal invite (JSON `{url, at}`).
    pub const DELIVERED: &str = "delivered:";
    /// `sending:<chat>:<user>:<url>`: a delivery claimed; while it stays,
    /// it is never sent again (its outcome may be unknown).
    pub const SENDING: &str = "sending:";
    /// `decision:<chat>:<user>:<update id>`: a join-request decision (JSON).
    pub const DECISION: &str = "decision:";
    /// `enforced:<address>`: unix times of reverts, for the rate cap (JSON list).
    pub const ENFORCED: &str = "enforced:";
}

/// One fact to write in an update's transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactWrite {
    Put(String, String),
    /// Written only when no fact of that key exists (a welcome is claimed
    /// once, whoever gets there first).
    PutIfAbsent(String, String),
    Delete(String),
}

/// Everything one update changed, written together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdateCommit {
    /// Member records learned, and the new offset (`delta.offset`).
    pub delta: Delta,
    pub facts: Vec<FactWrite>,
}

/// The watch half of a state backend: facts, the update transaction and
/// the lease. Implemented by `store::sqlite` and `store::postgres`.
pub trait Ledger: Send + Sync {
    /// Records, facts and offset in one transaction. Returns the keys of
    /// `PutIfAbsent` facts that were written (the others existed).
    fn commit_update(&self, commit: &UpdateCommit) -> Result<Vec<String>, StoreError>;
    /// Every fact whose key starts with `prefix`, by key.
    fn facts(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Take the lease for `lease.holder`, unless someone else holds a
    /// live one. A lease is live while it was renewed within its `ttl`
    /// and (on this host) its process runs.
    fn take_lease(&self, lease: &Lease) -> Result<LeaseOutcome, StoreError>;
    /// Renew a lease this process holds; `false` when it was lost (taken
    /// over after it expired).
    fn renew_lease(&self, lease: &Lease) -> Result<bool, StoreError>;
    /// Give the lease up (only if it is still ours).
    fn release_lease(&self, holder: &Holder) -> Result<(), StoreError>;

    /// One fact.
    fn fact(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .facts(key)?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v))
    }
    /// Write facts alone (no records, no offset), in one transaction.
    fn put_facts(&self, facts: Vec<FactWrite>) -> Result<(), StoreError> {
        self.commit_update(&UpdateCommit {
            delta: Delta::default(),
            facts,
        })
        .map(|_| ())
    }
    /// The lease as recorded (live or not).
    fn lease(&self) -> Result<Option<Lease>, StoreError> {
        Ok(self
            .fact(keys::LEASE)?
            .and_then(|t| serde_json::from_str(&t).ok()))
    }
}

/// The watch lease: who holds it and when it was last renewed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub holder: Holder,
    /// Unix time of the last renewal.
    pub renewed: i64,
    /// Seconds a lease stays valid without renewal.
    pub ttl: i64,
}

impl Lease {
    /// Whether this lease still binds others at `now`.
    pub fn live(&self, now: i64) -> bool {
        now - self.renewed <= self.ttl && !self.holder.crashed()
    }
}

/// What taking the lease did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// Ours now; `replaced` is a dead or expired holder it took over from.
    Taken { replaced: Option<Lease> },
    /// Someone else holds a live lease.
    Held(Lease),
}

/// Decide a lease request against the recorded lease (each backend runs
/// this inside its transaction).
pub fn decide_lease(current: Option<Lease>, wanted: &Lease) -> LeaseOutcome {
    match current {
        Some(c) if same_holder(&c.holder, &wanted.holder) => LeaseOutcome::Taken { replaced: None },
        Some(c) if c.live(wanted.renewed) => LeaseOutcome::Held(c),
        other => LeaseOutcome::Taken { replaced: other },
    }
}

pub fn same_holder(a: &Holder, b: &Holder) -> bool {
    a.host == b.host && a.pid == b.pid && a.started == b.started
}

/// How fresh the ledger is, for `plan` and `drift`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerStatus {
    /// A watch holds the lease now: the CI commands read the ledger and do
    /// not drain updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<String>,
    /// Unix time watch was last alive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<i64>,
    /// Unix time of the last full member check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_check: Option<i64>,
    /// Why the ledger cannot be trusted to be complete, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
}

impl LedgerStatus {
    /// Read the ledger's status at `now`. `None` when no watch ever ran
    /// for this workspace (the commands drain updates themselves, as
    /// before).
    pub fn read(ledger: &dyn Ledger, now: i64) -> Result<Option<LedgerStatus>, StoreError> {
        let int = |k: &str| -> Result<Option<i64>, StoreError> {
            Ok(ledger.fact(k)?.and_then(|v| v.parse().ok()))
        };
        let heartbeat = int(keys::HEARTBEAT)?;
        let Some(beat) = heartbeat else {
            return Ok(None);
        };
        let full_check = int(keys::FULL_CHECK)?;
        let stale_since = int(keys::STALE_SINCE)?;
        let watch = ledger
            .lease()?
            .filter(|l| l.live(now))
            .map(|l| l.holder.describe());
        let reason = ledger.fact(keys::STALE_REASON)?;
        let stale = if let (Some(since), Some(reason)) = (stale_since, reason) {
            Some(format!(
                "{reason} (found at {}); membership changes in them may be missing until watch's full member check finishes",
                crate::state::time::instant_text(since)
            ))
        } else if let Some(since) = stale_since {
            Some(format!(
                "watch found it was down longer than Telegram keeps updates (24 h) at {}; membership changes in that time were lost until the full member check finishes",
                crate::state::time::instant_text(since)
            ))
        } else if watch.is_none() && now - beat > TELEGRAM_KEEPS_UPDATES {
            Some(format!(
                "watch was last alive {} ago ({}), longer than Telegram keeps updates (24 h): people who joined or left meanwhile may be missing until `orgform watch` runs its full member check",
                human_span(now - beat),
                crate::state::time::instant_text(beat)
            ))
        } else {
            None
        };
        Ok(Some(LedgerStatus {
            watch,
            heartbeat,
            full_check,
            stale,
        }))
    }
}

/// "25 h", "3 min": a rough span for messages.
pub fn human_span(seconds: i64) -> String {
    let s = seconds.max(0);
    if s >= 2 * 86400 {
        format!("{} days", s / 86400)
    } else if s >= 3600 {
        format!("{} h", s / 3600)
    } else if s >= 60 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Watch's facts for `orgform state export`: every one but the lease,
/// which belongs to a process on one host, not to the data.
pub fn export_facts(
    ledger: &dyn Ledger,
) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
    Ok(ledger
        .facts("")?
        .into_iter()
        .filter(|(k, _)| k != keys::LEASE)
        .collect())
}

/// Replace watch's facts with `facts` (`orgform state import`), in one
/// transaction. The lease is neither exported nor replaced.
pub fn import_facts(
    ledger: &dyn Ledger,
    facts: &std::collections::BTreeMap<String, String>,
) -> Result<(), StoreError> {
    let mut writes: Vec<FactWrite> = ledger
        .facts("")?
        .into_iter()
        .filter(|(k, _)| k != keys::LEASE && !facts.contains_key(k))
        .map(|(k, _)| FactWrite::Delete(k))
        .collect();
    writes.extend(
        facts
            .iter()
            .filter(|(k, _)| k.as_str() != keys::LEASE)
            .map(|(k, v)| FactWrite::Put(k.clone(), v.clone())),
    );
    ledger.put_facts(writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(pid: u32) -> Holder {
        Holder {
            command: "watch".into(),
            run_id: None,
            host: "elsewhere".into(),
            pid,
            started: "t".into(),
            proc_start: None,
        }
    }

    #[test]
    fn a_live_lease_of_another_holder_is_kept() {
        let a = Lease {
            holder: holder(1),
            renewed: 100,
            ttl: 30,
        };
        let b = Lease {
            holder: holder(2),
            renewed: 120,
            ttl: 30,
        };
        assert_eq!(
            decide_lease(Some(a.clone()), &b),
            LeaseOutcome::Held(a.clone())
        );
        // Expired: taken over, and the old one named.
        let late = Lease { renewed: 200, ..b };
        assert_eq!(
            decide_lease(Some(a.clone()), &late),
            LeaseOutcome::Taken { replaced: Some(a) }
        );
        assert_eq!(
            decide_lease(None, &late),
            LeaseOutcome::Taken { replaced: None }
        );
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(human_span(25 * 3600), "25 h");
        assert_eq!(human_span(3 * 86400), "3 days");
        assert_eq!(human_span(59), "59 s");
    }
}
