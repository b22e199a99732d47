//! The HTTP front: `/ws` (signaling), `/healthz`, the built-in page at `/`, and the AMI API under
//! `/api/v1` (`crate::ami::api`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::app::App;
use crate::auth;
use crate::signaling::session;

/// The WebSocket read buffer reserved per session: a typical SDP offer (3-8 KiB) in one read.
const WS_READ_BUFFER: usize = 8 * 1024;

/// WebSocket close code for a missing, bad or expired token.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;

/// The router of the gateway's HTTP listener.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ws", get(ws))
        .merge(crate::ami::api::routes())
        .merge(crate::web::routes())
        .merge(crate::ops::routes())
        .with_state(app)
}

/// Liveness plus what an operator checks first: is Asterisk answering OPTIONS.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let mut body = serde_json::json!({
        "status": "ok",
        "sip": { "proxy": app.proxy_status() },
    });
    // Odoo (issue 5): the link's health and the outbox counters, when `[odoo]` is set.
    if let Some(reporter) = app.reporter.clone() {
        body["odoo"] = reporter.health().into();
        if let Ok((s, calls)) =
            tokio::task::spawn_blocking(move || (reporter.stats(), reporter.calls_stats())).await
        {
            body["outbox"] = serde_json::json!({
                "backlog": s.backlog, "delivered": s.delivered, "failed": s.failed, "dropped": s.dropped,
            });
            if let Some(c) = calls {
                body["outbox"]["calls"] = serde_json::json!({
                    "backlog": c.backlog, "delivered": c.delivered, "failed": c.failed, "dropped": c.dropped,
                });
            }
        }
    }
    // AMI (issue 6): each server's connection state, and events lost by falling behind.
    if let Some(ami) = &app.ami {
        body["ami"] = serde_json::Value::Object(ami.states());
        body["ami_events_lost"] = ami.lost_events().into();
        body["ami_rules"] = ami.forwarder().rule_count().into();
    }
    axum::Json(body).into_response()
}

#[derive(Deserialize)]
struct WsQuery {
    token: Option<String>,
}

async fn ws(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<WsQuery>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Per-IP connection rate first: a script opening sockets in a loop costs one lookup each.
    let admitted = app
        .ws_guard
        .lock()
        .map(|mut g| g.admit(tokio::time::Instant::now().into_std(), peer.ip()))
        .unwrap_or(true);
    if !admitted {
        app.metrics
            .guard
            .ws_rate_refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(source = %peer.ip(), "WebSocket refused: over limits.ws_connections_per_ip_per_min");
        return (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this address",
        )
            .into_response();
    }
    // A browser always sends Origin; a page from another site must not use a visitor's token
    // (cross-site WebSocket hijacking). Non-browser clients without Origin are allowed.
    if let Some(origin) = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        && !app.config.http.is_origin_allowed(origin)
    {
        tracing::warn!(%origin, "WebSocket refused: origin not in http.allowed_origins");
        return (axum::http::StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    if app.metrics.ws_sessions_now() >= app.config.http.max_sessions as i64 {
        tracing::warn!("WebSocket refused: http.max_sessions reached");
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "too many sessions",
        )
            .into_response();
    }
    let user = q.token.as_deref().and_then(|t| authenticate(&app, t));
    upgrade
        // `limits.max_json_frame`: a larger frame gets an `error`; one over four times that closes.
        .max_message_size(4 * app.config.limits.max_json_frame)
        // tungstenite reserves its read buffer up front, 128 KiB by default: the largest item
        // of a call's memory (issue 9 heap profile, 100 calls: 12.5 of 24.4 MiB). Signaling
        // frames are small; a larger one (an SDP offer, up to `max_json_frame`) takes more reads.
        .read_buffer_size(WS_READ_BUFFER)
        .on_upgrade(move |mut socket| async move {
            match user {
                Some(user) => session::run(app, user, socket).await,
                None => {
                    tracing::info!("WebSocket refused: bad or missing token");
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: CLOSE_UNAUTHORIZED,
                            reason: "unauthorized".into(),
                        })))
                        .await;
                }
            }
        })
        .into_response()
}

/// The user a `/ws` token names: a dev token, or an HS256 JWT when `[auth] token_secret` is set.
fn authenticate(app: &App, token: &str) -> Option<String> {
    if let Some(user) = app.config.auth.user_for_token(token) {
        return Some(user.to_owned());
    }
    let secret = app.config.auth.token_secret.as_ref()?;
    match auth::verify(
        token,
        secret.expose().as_bytes(),
        app.config.auth.token_leeway,
        wall_clock(),
    ) {
        Ok(claims) => Some(claims.login),
        Err(e) => {
            tracing::info!(reason = %e, "token refused");
            None
        }
    }
}

/// The wall clock for JWT times; `auth::verify` itself is told the time.
#[allow(clippy::disallowed_methods)] // The /ws driver's clock read, once per handshake.
fn wall_clock() -> std::time::SystemTime {
    std::time::SystemTime::now()
}
