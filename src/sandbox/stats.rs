//! Counters for `GET /sandbox/stats`: calls per method with their outcomes,
//! errors by code, 429s, injected faults and dropped connections, acts, and
//! any response that failed the Bot API spec check. Benchmarks and tests read
//! these to assert how many calls a command made.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Calls and outcomes of one method.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodStats {
    pub calls: u64,
    pub ok: u64,
    pub errors: u64,
}

/// Everything counted since start or the last reset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Unix time counting started.
    pub since: i64,
    /// Bot API requests, whatever became of them.
    pub requests: u64,
    /// By canonical method name; only calls that reached a method (not 401/404).
    pub methods: BTreeMap<String, MethodStats>,
    /// Error answers by code (400, 403, 429, 500, …).
    pub errors_by_code: BTreeMap<u16, u64>,
    /// 429 answers from the rate limits.
    pub rate_limited: u64,
    /// Random 500s.
    pub injected_errors: u64,
    pub dropped_connections: u64,
    pub unauthorized: u64,
    pub not_found: u64,
    /// Calls through `/sandbox/act`.
    pub acts: u64,
    /// Responses that did not validate against the Bot API spec (the first 100).
    pub spec_violations: Vec<String>,
}

const MAX_VIOLATIONS: usize = 100;

impl Stats {
    pub fn new(since: i64) -> Stats {
        Stats {
            since,
            ..Default::default()
        }
    }

    pub(crate) fn call(&mut self, method: &str, code: Option<u16>) {
        let m = self.methods.entry(method.to_string()).or_default();
        m.calls += 1;
        match code {
            None => m.ok += 1,
            Some(code) => {
                m.errors += 1;
                *self.errors_by_code.entry(code).or_default() += 1;
            }
        }
    }

    pub(crate) fn violation(&mut self, text: String) {
        if self.spec_violations.len() < MAX_VIOLATIONS {
            self.spec_violations.push(text);
        }
    }

    /// Calls of one method (0 if never called).
    pub fn calls(&self, method: &str) -> u64 {
        self.methods.get(method).map_or(0, |m| m.calls)
    }
}
