//! The AMI HTTP API (docs/ami.md). Every route needs `Authorization: Bearer <one of http.api_keys>`;
//! errors are JSON `{"error": "..."}`. A server that is not logged in answers 503 at once.
//!
//! - `POST /api/v1/originate`: click-to-call, returns `{"originate_id"}` at once (202).
//! - `POST /api/v1/ami/{server}/action`: any action -> `{"response": {...}, "events": [...]}`.
//! - `POST /api/v1/ami/{server}/command`: `{"command": "core show channels"}` -> `{"output": [...]}`.
//! - `GET /api/v1/ami/events?server=NAME&filter=Event=Hangup`: events as NDJSON until the client leaves.
//! - `GET /api/v1/ami/servers`: `{name: state}`.

use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gateway_ami::{AmiClient, AmiError, ConnState, Message};
use gateway_config::Condition;
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, mpsc};

use super::originate::{self, OriginateError, OriginateRequest};
use crate::app::App;

/// Actions the API refuses: the gateway manages its own login and event subscription.
const RESERVED_ACTIONS: [&str; 4] = ["Login", "Logoff", "Challenge", "Events"];
/// An empty line is written to an idle event stream this often (notices a client that left).
const HEARTBEAT: Duration = Duration::from_secs(15);

/// The AMI routes (merged into the gateway's router).
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/originate", post(originate))
        .route("/api/v1/ami/servers", get(servers))
        .route("/api/v1/ami/events", get(events))
        .route("/api/v1/ami/{server}/action", post(action))
        .route("/api/v1/ami/{server}/command", post(command))
}

/// An API error: a status and a JSON body `{"error": message, ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Map<String, Value>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let mut body = Map::new();
        body.insert("error".into(), message.into().into());
        Self { status, body }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.body.insert(key.into(), value);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(Value::Object(self.body))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<AmiError> for ApiError {
    fn from(e: AmiError) -> Self {
        let status = match &e {
            AmiError::NotConnected { .. } | AmiError::Disconnected { .. } | AmiError::Closed => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AmiError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            AmiError::InvalidAction(_) | AmiError::DuplicateActionId(_) => StatusCode::BAD_REQUEST,
            AmiError::Framing(_) => StatusCode::BAD_GATEWAY,
            AmiError::ActionFailed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let output = match &e {
            AmiError::ActionFailed { output, .. } => Some(output.clone()),
            _ => None,
        };
        let err = ApiError::new(status, e.to_string());
        match output {
            Some(lines) => err.with("output", lines.into()),
            None => err,
        }
    }
}

/// Checks `Authorization: Bearer <key>` against `http.api_keys` (constant time).
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    if app.config.http.api_keys.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the API is disabled: no http.api_keys are configured",
        ));
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, key)| key.trim());
    match key {
        Some(key) if app.config.http.is_api_key(key) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid API key")),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing Authorization: Bearer <API key>",
        )),
    }
}

fn ami(app: &App) -> Result<&super::Ami, ApiError> {
    app.ami
        .as_deref()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no [[ami.servers]] are configured"))
}

fn client<'a>(app: &'a App, name: Option<&str>) -> Result<&'a AmiClient, ApiError> {
    ami(app)?.client(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown AMI server {:?}", name.unwrap_or_default()),
        )
    })
}

fn json_object(body: &Bytes) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

async fn servers(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    Ok(axum::Json(Value::Object(ami(&app)?.states())).into_response())
}

async fn action(
    State(app): State<Arc<App>>,
    Path(server): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let client = client(&app, Some(&server))?;
    let json = json_object(&body)?;
    let name = json
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Action")))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or_default();
    if RESERVED_ACTIONS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("action {name:?} is managed by the gateway"),
        ));
    }
    let result = client.action_json(&json).await?;
    Ok(axum::Json(json!({"response": result.response, "events": result.events})).into_response())
}

async fn command(
    State(app): State<Arc<App>>,
    Path(server): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let client = client(&app, Some(&server))?;
    let json = json_object(&body)?;
    let Some(cmd) = json.get("command").and_then(Value::as_str) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "expected {\"command\": \"<CLI command>\"}",
        ));
    };
    let output = client.command(cmd).await?;
    Ok(axum::Json(json!({ "output": output })).into_response())
}

/// Whether the gateway knows `user`: a dev token, `sip.users`, a connected device, or any user when
/// JWTs or Odoo accounts are in use (the gateway cannot list those).
fn user_known(app: &App, user: &str) -> bool {
    app.config.auth.dev_tokens.contains_key(user)
        || app.config.sip.users.contains_key(user)
        || app.config.auth.token_secret.is_some()
        || app.odoo_users.is_some()
        || !app.hub.devices(user).is_empty()
}

async fn originate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let json = json_object(&body)?;
    let req: OriginateRequest = serde_json::from_value(json).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("bad originate request: {e}"),
        )
    })?;
    let client = client(&app, req.server.as_deref())?.clone();
    let id = format!("o-{}", crate::signaling::session::random_id());
    let known = user_known(&app, req.user.trim());
    let plan = originate::plan(&app.config, &req, &id, known, app.reporter.is_some()).map_err(
        |e| match e {
            OriginateError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            e @ OriginateError::UnknownUser(_) => {
                ApiError::new(StatusCode::NOT_FOUND, e.to_string())
            }
        },
    )?;
    let connected = matches!(&*client.state().borrow(), ConnState::Connected { .. });
    if !connected {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("AMI server {:?} is not connected", client.name()),
        ));
    }
    tracing::info!(originate_id = %id, user = %req.user, number = %req.number, server = %client.name(), "click-to-call");
    let server = client.name().to_owned();
    tokio::spawn(originate::run(app.clone(), client, id.clone(), plan));
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"originate_id": id, "server": server})),
    )
        .into_response())
}

/// A `Key=Value` (or `Key=re:regex`) event filter.
pub fn parse_filter(text: &str) -> Result<(String, Condition), String> {
    let (key, value) = text
        .split_once('=')
        .filter(|(k, _)| !k.trim().is_empty())
        .ok_or_else(|| format!("a filter is Key=Value, got {text:?}"))?;
    Ok((key.trim().to_owned(), Condition::from_str(value)?))
}

/// Whether `event` passes every filter (header names ignore case).
pub fn passes(filters: &[(String, Condition)], event: &Message) -> bool {
    filters
        .iter()
        .all(|(k, c)| event.get(k).is_some_and(|v| c.matches(v)))
}

async fn events(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let ami = ami(&app)?;
    let mut server = None;
    let mut filters = Vec::new();
    for (key, value) in &query {
        match key.as_str() {
            "server" => server = Some(value.clone()),
            "filter" => filters
                .push(parse_filter(value).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?),
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown parameter {other:?}"),
                ));
            }
        }
    }
    let clients: Vec<AmiClient> = match &server {
        Some(name) => vec![client(&app, Some(name))?.clone()],
        None => ami.clients().to_vec(),
    };
    let names: Vec<&str> = clients.iter().map(AmiClient::name).collect();
    let (tx, rx) = mpsc::channel::<String>(1024);
    let first = json!({ "subscribed": names }).to_string();
    let filters = Arc::new(filters);
    for c in &clients {
        // Subscribed before the response starts: the `subscribed` line means no event is missed.
        let events = c.events();
        tokio::spawn(pump(
            c.name().to_owned(),
            events,
            filters.clone(),
            tx.clone(),
        ));
    }
    drop(tx);
    let stream = futures_util::stream::unfold((Some(first), rx), |(first, mut rx)| async move {
        if let Some(line) = first {
            return Some((Ok::<_, Infallible>(Bytes::from(line + "\n")), (None, rx)));
        }
        match tokio::time::timeout(HEARTBEAT, rx.recv()).await {
            Ok(Some(line)) => Some((Ok(Bytes::from(line + "\n")), (None, rx))),
            Ok(None) => None,
            Err(_) => Some((Ok(Bytes::from_static(b"\n")), (None, rx))),
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Copies one server's matching events to a stream until the stream's reader is gone.
async fn pump(
    server: String,
    mut events: broadcast::Receiver<Arc<Message>>,
    filters: Arc<Vec<(String, Condition)>>,
    tx: mpsc::Sender<String>,
) {
    loop {
        let line = tokio::select! {
            () = tx.closed() => return,
            ev = events.recv() => match ev {
                Ok(ev) if passes(&filters, &ev) => json!({"server": server, "event": &*ev}).to_string(),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(%server, lost = n, "AMI event stream client too slow; events dropped");
                    json!({"server": server, "lagged": n}).to_string()
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if tx.send(line).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_exact_or_regex_values_by_header_name() {
        let ev = Message::new()
            .with("Event", "Hangup")
            .with("Uniqueid", "u-1")
            .with("Cause", "16");
        let f = |texts: &[&str]| -> Vec<(String, Condition)> {
            texts.iter().map(|t| parse_filter(t).unwrap()).collect()
        };
        assert!(passes(&f(&["Event=Hangup"]), &ev));
        assert!(passes(&f(&["event=Hangup", "UniqueID=u-1"]), &ev));
        assert!(passes(&f(&["Cause=re:^1[0-9]$"]), &ev));
        assert!(!passes(&f(&["Event=Cdr"]), &ev));
        assert!(!passes(&f(&["Channel=x"]), &ev));
        assert!(passes(&[], &ev));
        assert!(parse_filter("Event").is_err());
        assert!(parse_filter("=x").is_err());
        assert!(parse_filter("Cause=re:(").is_err());
    }

    #[test]
    fn ami_errors_map_to_statuses() {
        let status = |e: AmiError| ApiError::from(e).status;
        assert_eq!(
            status(AmiError::NotConnected {
                server: "pbx".into(),
                reason: "x".into()
            }),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status(AmiError::Closed), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            status(AmiError::Timeout {
                server: "p".into(),
                action: "Ping".into(),
                after: Duration::ZERO
            }),
            StatusCode::GATEWAY_TIMEOUT
        );
        let failed = ApiError::from(AmiError::ActionFailed {
            action: "Command".into(),
            message: "Command output follows".into(),
            output: vec!["No such command".into()],
        });
        assert_eq!(failed.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(failed.body["output"], json!(["No such command"]));
    }
}
