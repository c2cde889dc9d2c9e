//! Operating watch: counters for Prometheus (`/metrics`, text format 0.0.4)
//! and a liveness answer (`/healthz`), served on a local address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::spec::JoinDecision;

/// What watch counts.
#[derive(Debug, Default)]
pub struct Metrics {
    updates: AtomicU64,
    ledger_members: AtomicU64,
    /// Unix time of the newest update processed (its own date).
    last_update_date: AtomicI64,
    /// Unix time watch last renewed its lease.
    heartbeat: AtomicI64,
    decisions: [AtomicU64; 4],
    decision_errors: AtomicU64,
    alerts: AtomicU64,
    api_errors: AtomicU64,
    rate_limited: AtomicU64,
    delivered: AtomicU64,
    reverts: AtomicU64,
    reverts_refused: AtomicU64,
    settings_polls: AtomicU64,
    healthy: AtomicBool,
    /// 429s the main client saw, as its pace reports them.
    pub client_rate_limited: AtomicU64,
}

const DECISIONS: [(JoinDecision, &str); 4] = [
    (JoinDecision::Approve, "approve"),
    (JoinDecision::Decline, "decline"),
    (JoinDecision::Queue, "queue"),
    (JoinDecision::Ignore, "ignore"),
];

impl Metrics {
    pub fn processed(&self, date: Option<i64>) {
        self.updates.fetch_add(1, Ordering::Relaxed);
        if let Some(d) = date {
            self.last_update_date.fetch_max(d, Ordering::Relaxed);
        }
    }
    pub fn set_ledger_size(&self, n: u64) {
        self.ledger_members.store(n, Ordering::Relaxed);
    }
    pub fn decision(&self, d: JoinDecision, ok: bool) {
        let i = DECISIONS.iter().position(|(k, _)| *k == d).unwrap_or(3);
        self.decisions[i].fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.decision_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn alert(&self) {
        self.alerts.fetch_add(1, Ordering::Relaxed);
    }
    /// One round of the settings poll (every managed chat read).
    pub fn settings_polled(&self) {
        self.settings_polls.fetch_add(1, Ordering::Relaxed);
    }
    pub fn api_error(&self) {
        self.api_errors.fetch_add(1, Ordering::Relaxed);
    }
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }
    pub fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }
    pub fn enforced(&self, reverted: bool) {
        if reverted {
            self.reverts.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reverts_refused.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn beat(&self, now: i64) {
        self.heartbeat.store(now, Ordering::Relaxed);
    }
    pub fn set_healthy(&self, yes: bool) {
        self.healthy.store(yes, Ordering::Relaxed);
        if yes {
            self.beat(super::unix_now());
        }
    }

    /// Healthy: serving, and the lease renewed within `stale_after` seconds.
    pub fn healthy(&self, now: i64, stale_after: i64) -> bool {
        self.healthy.load(Ordering::Relaxed)
            && now - self.heartbeat.load(Ordering::Relaxed) <= stale_after
    }

    /// The Prometheus text exposition.
    pub fn render(&self, now: i64) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, String)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, value) in lines {
                out.push_str(&format!("{name}{labels} {value}\n"));
            }
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        metric(
            "orgform_watch_updates_total",
            "counter",
            "Updates processed and committed.",
            vec![(String::new(), get(&self.updates))],
        );
        metric(
            "orgform_watch_ledger_members",
            "gauge",
            "Members the ledger knows, over all chats.",
            vec![(String::new(), get(&self.ledger_members))],
        );
        let last = self.last_update_date.load(Ordering::Relaxed);
        metric(
            "orgform_watch_lag_seconds",
            "gauge",
            "Seconds between the newest processed update's date and now (0 before the first).",
            vec![(
                String::new(),
                if last == 0 { 0 } else { (now - last).max(0) }.to_string(),
            )],
        );
        metric(
            "orgform_watch_join_decisions_total",
            "counter",
            "Join requests decided, by decision.",
            DECISIONS
                .iter()
                .zip(&self.decisions)
                .map(|((_, name), n)| (format!("{{decision=\"{name}\"}}"), get(n)))
                .collect(),
        );
        metric(
            "orgform_watch_join_decision_errors_total",
            "counter",
            "Join-request decisions Telegram refused or that missed the deadline.",
            vec![(String::new(), get(&self.decision_errors))],
        );
        metric(
            "orgform_watch_alerts_total",
            "counter",
            "Drift alerts raised.",
            vec![(String::new(), get(&self.alerts))],
        );
        metric(
            "orgform_watch_settings_polls_total",
            "counter",
            "Rounds of the settings poll (one getChat per managed chat).",
            vec![(String::new(), get(&self.settings_polls))],
        );
        metric(
            "orgform_watch_invites_delivered_total",
            "counter",
            "Pending personal invites delivered after the person started the bot.",
            vec![(String::new(), get(&self.delivered))],
        );
        metric(
            "orgform_watch_reverts_total",
            "counter",
            "Drift reverted with --enforce, by outcome.",
            vec![
                ("{outcome=\"reverted\"}".into(), get(&self.reverts)),
                (
                    "{outcome=\"not_reverted\"}".into(),
                    get(&self.reverts_refused),
                ),
            ],
        );
        metric(
            "orgform_watch_api_errors_total",
            "counter",
            "Bot API calls that failed.",
            vec![(String::new(), get(&self.api_errors))],
        );
        let limited = self.rate_limited.load(Ordering::Relaxed)
            + self.client_rate_limited.load(Ordering::Relaxed);
        metric(
            "orgform_watch_rate_limited_total",
            "counter",
            "Bot API answers of 429 (Too Many Requests).",
            vec![(String::new(), limited.to_string())],
        );
        metric(
            "orgform_watch_up",
            "gauge",
            "1 while watch serves updates with a live lease.",
            vec![(
                String::new(),
                u8::from(self.healthy.load(Ordering::Relaxed)).to_string(),
            )],
        );
        out
    }
}

struct OpsState {
    metrics: Arc<Metrics>,
    stale_after: i64,
    refresh: Box<dyn Fn(&Metrics) + Send + Sync>,
}

/// Serve `/healthz` and `/metrics` on `addr` until `stop`. `refresh` runs
/// before each scrape (to copy counters kept elsewhere).
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stale_after: i64,
    refresh: Box<dyn Fn(&Metrics) + Send + Sync>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let state = Arc::new(OpsState {
        metrics,
        stale_after,
        refresh,
    });
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_page))
        .with_state(state);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
    });
    Ok((bound, task))
}

async fn healthz(State(s): State<Arc<OpsState>>) -> impl IntoResponse {
    if s.metrics.healthy(super::unix_now(), s.stale_after) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not serving\n")
    }
}

async fn metrics_page(State(s): State<Arc<OpsState>>) -> impl IntoResponse {
    (s.refresh)(&s.metrics);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(super::unix_now()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_has_help_and_type() {
        let m = Metrics::default();
        m.processed(Some(10));
        m.decision(JoinDecision::Decline, true);
        let text = m.render(15);
        assert!(text.contains("orgform_watch_lag_seconds 5\n"));
        assert!(text.contains("orgform_watch_join_decisions_total{decision=\"decline\"} 1\n"));
        let mut typed = std::collections::BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().unwrap().to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(typed.contains(name), "{name} has no TYPE line");
            }
        }
    }
}
