//! The optional HTTP listener: `/healthz` (is the scheduler loop alive?) and `/metrics`
//! (Prometheus text). Loopback addresses only, unless explicitly allowed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::metrics::Metrics;
use crate::error::{Error, Result};

/// How often the scheduler loop beats at least.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// `/healthz` answers 503 when the last beat is older than this.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(20);

/// The scheduler loop's last sign of life (Unix milliseconds).
#[derive(Debug, Default)]
pub struct Heartbeat(AtomicU64);

impl Heartbeat {
    /// Records a beat now.
    pub fn beat(&self) {
        self.0.store(unix_millis(), Ordering::Relaxed);
    }
    /// Time since the last beat (`None` before the first).
    pub fn age(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            t => Some(Duration::from_millis(unix_millis().saturating_sub(t))),
        }
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[derive(Clone)]
struct AppState {
    heartbeat: Arc<Heartbeat>,
    metrics: Arc<Metrics>,
}

/// Checks `[daemon] listen`: a socket address, loopback unless `allow_remote`.
pub fn check_listen(listen: &str, allow_remote: bool) -> Result<SocketAddr> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        Error::Other(format!(
            "[daemon] listen `{listen}` is not an address: write e.g. \"127.0.0.1:9750\""
        ))
    })?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(Error::Other(format!(
            "[daemon] listen `{addr}` is not a loopback address; /metrics names sources, policies and \
             jobs, so it is served on 127.0.0.1/::1 only. Put a reverse proxy in front, or start with \
             --allow-remote-listen to accept it"
        )));
    }
    Ok(addr)
}

/// Binds `addr` and serves until `shutdown` resolves. Returns once bound, with the bound address.
pub async fn serve(
    addr: SocketAddr,
    heartbeat: Arc<Heartbeat>,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Other(format!("cannot listen on {addr} ([daemon] listen): {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Other(format!("listener on {addr}: {e}")))?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(AppState { heartbeat, metrics });
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "HTTP listener failed");
        }
    });
    Ok((bound, task))
}

async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    match s.heartbeat.age() {
        Some(age) if age <= HEARTBEAT_STALE => (
            StatusCode::OK,
            format!("ok: scheduler alive {}ms ago\n", age.as_millis()),
        ),
        Some(age) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("stale: scheduler last alive {}s ago\n", age.as_secs()),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: scheduler not running yet\n".to_string(),
        ),
    }
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_must_be_loopback_unless_allowed() {
        assert!(check_listen("127.0.0.1:9750", false).is_ok());
        assert!(check_listen("[::1]:9750", false).is_ok());
        let e = check_listen("0.0.0.0:9750", false).unwrap_err().to_string();
        assert!(e.contains("--allow-remote-listen"), "{e}");
        assert!(check_listen("0.0.0.0:9750", true).is_ok());
        assert!(check_listen("localhost:9750", false).is_err());
    }

    #[test]
    fn heartbeat_ages() {
        let h = Heartbeat::default();
        assert!(h.age().is_none());
        h.beat();
        assert!(h.age().unwrap() < Duration::from_secs(1));
    }
}
