//! Gateway orchestration: signaling, the call task, the WebRTC leg and the I/O drivers.

pub mod ami;
pub mod app;
pub mod auth;
pub mod call;
pub mod doctor;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod odoo_users;
pub mod ops;
pub mod report;
pub mod signaling;
pub mod sip_driver;
pub mod tls;
pub mod turn;
pub mod web;
pub mod webrtc;
pub mod ws_guard;

use std::net::SocketAddr;
use std::sync::Arc;

use app::App;
use axum::serve::ListenerExt;
use gateway_config::Config;
use tokio::sync::mpsc;

/// Binds every listener, then serves until the HTTP server stops. Bind failures are returned
/// before anything runs, with the address that failed.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let sip_sockets = sip_driver::SipSockets::bind(&config)
        .await
        .map_err(|e| anyhow::anyhow!("sip.listen {}: {e}", config.sip.listen))?;
    let proxy = sip_driver::resolve_proxy(&config)
        .await
        .map_err(|e| anyhow::anyhow!("sip.proxy {}: {e}", config.sip.proxy.uri))?;
    // TLS (issue 7): the certificate and key are read before anything binds.
    let tls = match &config.http.tls {
        Some(files) => Some(
            tls::server_config(files).map_err(|e| anyhow::anyhow!("http.tls_cert/tls_key: {e}"))?,
        ),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen {}: {e}", config.http.listen))?;
    let (sip_tx, sip_rx) = mpsc::unbounded_channel();
    let (app_tx, app_rx) = mpsc::unbounded_channel();
    let mut app = App::new(config.clone(), sip_tx, proxy).map_err(anyhow::Error::msg)?;
    // Odoo (issue 5): the outbox reporter, and SIP accounts from Odoo when configured.
    app.reporter = report::Reporter::start(&config)?;
    if let (Some(reporter), Some(odoo)) = (&app.reporter, &config.odoo)
        && odoo.users_from_odoo
    {
        app.odoo_users = Some(Arc::new(odoo_users::OdooUsers::new(reporter.client())));
    }
    // AMI (issue 6): one client per [[ami.servers]], subscribed before any can log in.
    let feeds = match ami::Ami::start(&config) {
        Some((ami, feeds)) => {
            app.ami = Some(ami);
            feeds
        }
        None => Vec::new(),
    };
    let app = Arc::new(app);
    ami::spawn_tasks(app.clone(), feeds);
    tokio::spawn(sip_driver::run(
        config.clone(),
        sip_sockets,
        proxy,
        sip_rx,
        app_tx,
        app.metrics.guard.clone(),
    ));
    tokio::spawn(call::inbound::route(app.clone(), app_rx));
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(http = %config.http.listen, scheme, sip = %config.sip.listen, "webrtc-gateway listening");
    if let Some(tls) = tls {
        // TLS (issue 7): the listener sets TCP_NODELAY itself, before the handshake.
        // The no-op tap gives the router the peer's address (axum's `ConnectInfo` covers `TapIo`).
        let listener = tls::TlsListener::new(listener, tls)?.tap_io(|_| {});
        axum::serve(
            listener,
            http::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(ops::shutdown_signal(app))
        .await?;
        return Ok(());
    }
    // TCP_NODELAY on every WebSocket: Nagle's algorithm costs ~40 ms per call setup (STYLE.md §4).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(
        listener,
        http::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(ops::shutdown_signal(app))
    .await?;
    Ok(())
}
