//! Operations: `/metrics` (Prometheus), `/readyz` (are Asterisk, AMI and Odoo reachable), and the
//! graceful shutdown on SIGTERM (stop taking calls, let calls in progress finish up to the drain
//! timeout, then end them with BYE, flush the outbox).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;
use crate::call::CallControl;

/// How long calls in progress may go on after SIGTERM before they are ended.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// `/metrics` and `/readyz`.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/readyz", get(readyz))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut extra: Vec<(&str, &str, f64)> = vec![
        (
            "webrtc_gateway_registrations",
            "Users registered with Asterisk.",
            app.hub.registered_count() as f64,
        ),
        (
            "webrtc_gateway_sip_proxy_reachable",
            "1 when Asterisk answered the last OPTIONS (or none was sent yet).",
            if app.proxy_reachable() { 1.0 } else { 0.0 },
        ),
        (
            "webrtc_gateway_draining",
            "1 while shutting down.",
            if app.is_draining() { 1.0 } else { 0.0 },
        ),
    ];
    if let Some(ami) = &app.ami {
        let connected = ami
            .states()
            .values()
            .filter(|state| state.as_str() == Some("connected"))
            .count();
        extra.push((
            "webrtc_gateway_ami_connected",
            "AMI servers connected.",
            connected as f64,
        ));
    }
    if let Some(reporter) = app.reporter.clone() {
        let stats = tokio::task::spawn_blocking(move || reporter.stats()).await;
        if let Ok(s) = stats {
            extra.push((
                "webrtc_gateway_outbox_backlog",
                "Reports waiting for Odoo.",
                s.backlog as f64,
            ));
            extra.push((
                "webrtc_gateway_outbox_delivered",
                "Reports delivered to Odoo.",
                s.delivered as f64,
            ));
            extra.push((
                "webrtc_gateway_outbox_failed",
                "Report delivery attempts that failed.",
                s.failed as f64,
            ));
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(&extra),
    )
        .into_response()
}

/// 200 when the gateway can take calls: not draining, Asterisk not unreachable, every AMI server
/// connected, Odoo not refusing us; 503 with the reasons otherwise.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    let mut problems: Vec<String> = Vec::new();
    if app.is_draining() {
        problems.push("shutting down".into());
    }
    if !app.proxy_reachable() {
        problems.push("Asterisk does not answer OPTIONS".into());
    }
    if let Some(ami) = &app.ami {
        for (name, state) in ami.states() {
            let state = state.as_str().unwrap_or("unknown");
            if state != "connected" {
                problems.push(format!("AMI server {name} is {state}"));
            }
        }
    }
    if let Some(health) = app.odoo_health()
        && !matches!(health, "ok" | "starting")
    {
        problems.push(format!("Odoo: {health}"));
    }
    let body = serde_json::json!({ "ready": problems.is_empty(), "problems": problems });
    let code = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

/// Waits for SIGTERM (or Ctrl-C), then drains: new calls are refused, calls in progress have
/// [`DRAIN_TIMEOUT`] to finish, the rest are hung up, and the outbox is flushed.
pub async fn shutdown_signal(app: Arc<App>) {
    wait_for_signal().await;
    tracing::info!(
        timeout_s = DRAIN_TIMEOUT.as_secs(),
        "shutting down: no new calls, waiting for calls in progress"
    );
    app.draining.store(true, Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while app.hub.call_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let left = app.hub.all_calls();
    if !left.is_empty() {
        tracing::info!(
            calls = left.len(),
            "drain timeout: hanging up the calls left"
        );
        for c in left {
            let _ = c.send(CallControl::Hangup {
                session_id: String::new(),
            });
        }
        let grace = tokio::time::Instant::now() + Duration::from_secs(5);
        while app.hub.call_count() > 0 && tokio::time::Instant::now() < grace {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if let Some(reporter) = &app.reporter {
        reporter.flush().await;
    }
    tracing::info!("shutdown complete");
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
