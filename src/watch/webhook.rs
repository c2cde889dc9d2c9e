//! Receiving updates by webhook: `setWebhook` with a secret token, and a
//! local HTTP server that checks `X-Telegram-Bot-Api-Secret-Token` on
//! every request and the source address against an optional allow-list
//! (behind a trusted reverse proxy, the address it forwarded for: see
//! [`client_address`]), then answers 200 only once the update's effect is committed (Telegram
//! sends it again otherwise). TLS is a reverse proxy's job
//! (docs/watch.md).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use tokio::sync::{mpsc, oneshot};

use super::ops::Metrics;
use super::{Delivered, WATCH_ALLOWED_UPDATES, WatchError};
use crate::telegram::client::{ApiCall, Client, Repeat};

/// Telegram's header carrying the webhook's secret token.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// The largest update accepted (Telegram's are a few KiB).
const MAX_BODY: usize = 1 << 20;

#[derive(Clone, Debug)]
pub struct WebhookOptions {
    /// Where the local server listens (behind the TLS proxy).
    pub listen: SocketAddr,
    /// The public HTTPS URL Telegram posts to.
    pub url: String,
    /// 1–256 characters of `A-Z a-z 0-9 _ -`.
    pub secret: String,
    /// Source networks allowed to post; empty = any.
    pub allow: Vec<Network>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Network>,
}

/// The most `X-Forwarded-For` entries read (a longer chain is refused).
const MAX_FORWARDS: usize = 32;

/// Where a request comes from, for the allow-list. From anyone but a
/// trusted proxy, the peer's address (`X-Forwarded-For` is whatever the
/// sender wrote, so it is ignored). From a trusted proxy, the right-most
/// address of `X-Forwarded-For` that is not a trusted proxy itself: each
/// proxy appends the address it got the request from, so the entries
/// left of that one were written by the sender and prove nothing. An
/// entry that is not an address (or a chain too long) is an error: the
/// request is refused rather than guessed at.
pub fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[Network],
) -> Result<IpAddr, String> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Ok(peer);
    }
    let mut chain = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value
            .to_str()
            .map_err(|_| "X-Forwarded-For is not text".to_string())?;
        for entry in value.split(',') {
            chain.push(entry.trim().to_string());
            if chain.len() > MAX_FORWARDS {
                return Err(format!(
                    "X-Forwarded-For has more than {MAX_FORWARDS} entries"
                ));
            }
        }
    }
    let mut from = peer;
    for entry in chain.iter().rev() {
        let ip = forwarded_ip(entry)
            .ok_or_else(|| format!("X-Forwarded-For entry {entry:?} is not an IP address"))?;
        from = ip;
        if !is_trusted(ip) {
            return Ok(ip);
        }
    }
    // Only trusted proxies on the way: the first of them sent it.
    Ok(from)
}

/// `203.0.113.9`, `203.0.113.9:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// An IP network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    /// `149.154.160.0/20`, `::1/128`, or a bare address.
    fn from_str(s: &str) -> Result<Network, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| {
            format!("{s:?} is not an IP address or network (like 149.154.160.0/20)")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0–{max}"))?,
        };
        Ok(Network { addr, prefix })
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Whether a secret token is one Telegram accepts.
pub fn valid_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Point Telegram at the webhook (one connection at a time, so updates
/// arrive in order).
pub async fn register(client: &Client, hook: &WebhookOptions) -> Result<(), WatchError> {
    let call = ApiCall::new("setWebhook", None, Repeat::Safe)
        .param("url", &hook.url)
        .param("secret_token", &hook.secret)
        .param("allowed_updates", WATCH_ALLOWED_UPDATES)
        .param("max_connections", 1);
    client.call_value(&call).await?;
    Ok(())
}

struct HookState {
    secret: String,
    allow: Vec<Network>,
    trusted_proxies: Vec<Network>,
    tx: mpsc::Sender<Delivered>,
    metrics: Arc<Metrics>,
}

/// Serve the webhook until `stop`; the address it listens on.
pub async fn serve(
    hook: WebhookOptions,
    tx: mpsc::Sender<Delivered>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), WatchError> {
    let listener = tokio::net::TcpListener::bind(hook.listen)
        .await
        .map_err(|e| WatchError::Other(format!("cannot listen on {}: {e}", hook.listen)))?;
    // The address bound (port 0 picks a free one).
    let bound = listener.local_addr().unwrap_or(hook.listen);
    let state = Arc::new(HookState {
        secret: hook.secret.clone(),
        allow: hook.allow.clone(),
        trusted_proxies: hook.trusted_proxies.clone(),
        tx,
        metrics,
    });
    let app = Router::new()
        .fallback(receive)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    Ok((
        bound,
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        }),
    ))
}

/// Equal, in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn receive(
    State(s): State<Arc<HookState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let from = match client_address(peer.ip(), &headers, &s.trusted_proxies) {
        Ok(from) => from,
        Err(why) => {
            tracing::warn!(%peer, "webhook request refused: {why}");
            return (StatusCode::FORBIDDEN, "forbidden\n");
        }
    };
    if !s.allow.is_empty() && !s.allow.iter().any(|n| n.contains(from)) {
        tracing::warn!(%peer, %from, "webhook request from outside the allowed networks refused");
        return (StatusCode::FORBIDDEN, "forbidden\n");
    }
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !same_secret(given, s.secret.as_bytes()) {
        tracing::warn!(%peer, "webhook request without the right secret token refused");
        return (StatusCode::UNAUTHORIZED, "unauthorized\n");
    }
    if method != axum::http::Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "POST only\n");
    }
    let Ok(update) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON\n");
    };
    let (done, result) = oneshot::channel();
    if s.tx.send(Delivered { update, done }).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n");
    }
    // Telegram waits for the answer; an update not answered 2xx comes again.
    match tokio::time::timeout(Duration::from_secs(55), result).await {
        Ok(Ok(Ok(()))) => (StatusCode::OK, "ok\n"),
        _ => {
            s.metrics.api_error();
            (StatusCode::INTERNAL_SERVER_ERROR, "not processed\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_their_addresses_only() {
        let n: Network = "149.154.160.0/20".parse().unwrap();
        assert!(n.contains("149.154.167.220".parse().unwrap()));
        assert!(!n.contains("149.154.176.1".parse().unwrap()));
        assert!(n.contains("::ffff:149.154.161.1".parse().unwrap()));
        let one: Network = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("any".parse::<Network>().is_err());
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let proxy: Vec<Network> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let telegram = ip("149.154.167.220");
        // A sender that is not a proxy: its header is ignored.
        let spoofed = forwarded(&["149.154.167.220"]);
        assert_eq!(
            client_address(ip("203.0.113.9"), &spoofed, &proxy),
            Ok(ip("203.0.113.9"))
        );
        assert_eq!(
            client_address(ip("203.0.113.9"), &spoofed, &[]),
            Ok(ip("203.0.113.9"))
        );
        // Through the proxy: the address it appended.
        assert_eq!(
            client_address(ip("10.0.0.5"), &forwarded(&["149.154.167.220"]), &proxy),
            Ok(telegram)
        );
        // A sender writing Telegram's address first is still itself.
        assert_eq!(
            client_address(
                ip("10.0.0.5"),
                &forwarded(&["149.154.167.220, 198.51.100.7"]),
                &proxy
            ),
            Ok(ip("198.51.100.7"))
        );
        // Two proxies, two headers, a port: the right-most untrusted one.
        assert_eq!(
            client_address(
                ip("10.0.0.5"),
                &forwarded(&["1.2.3.4", "149.154.167.220:4711, 10.1.1.1"]),
                &proxy
            ),
            Ok(telegram)
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &forwarded(&["[2001:db8::1]:80"]), &proxy),
            Ok(ip("2001:db8::1"))
        );
        // No header: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.5"), &HeaderMap::new(), &proxy),
            Ok(ip("10.0.0.5"))
        );
        // Garbage, or a chain too long: refused.
        assert!(client_address(ip("10.0.0.5"), &forwarded(&["unknown"]), &proxy).is_err());
        assert!(
            client_address(
                ip("10.0.0.5"),
                &forwarded(&["149.154.167.220, nope"]),
                &proxy
            )
            .is_err()
        );
        let long = vec!["10.0.0.1"; 40].join(",");
        assert!(client_address(ip("10.0.0.5"), &forwarded(&[&long]), &proxy).is_err());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"", b"abc"));
        assert!(valid_secret("a-b_C9"));
        assert!(!valid_secret("a b"));
        assert!(!valid_secret(""));
    }
}
