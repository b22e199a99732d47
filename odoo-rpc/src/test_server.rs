//! An Odoo 18 `/jsonrpc` double for tests, answering with the shapes captured in `tests/data/`.
//!
//! It knows `common.version/login/authenticate` and `object.execute_kw` with Odoo's check order
//! (database, credentials, model, method). The only model is `webrtc.session` with
//! `gateway_report(events)`: idempotent by event key, it records newly applied events in order and
//! returns every key of the batch it now holds. It can be stopped (connection refused), made slow,
//! made to answer 5xx, or given another secret (so the client's key becomes wrong); it counts requests.
//! Tests may also accept further `model.method` pairs ([`TestServer::accept_method`]): each call is
//! recorded with its arguments ([`TestServer::method_calls`]) and answered with a fixed result.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

mod dispatch;

/// Who may log in, and what the server answers.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The database name (`gw` in the captures).
    pub database: String,
    /// The login.
    pub login: String,
    /// The password or API key accepted for it.
    pub secret: String,
    /// The uid returned by a successful login.
    pub uid: i64,
}

impl Default for Credentials {
    /// The captures' `gw` database with `admin`/`admin` = uid 2.
    fn default() -> Self {
        Self {
            database: "gw".into(),
            login: "admin".into(),
            secret: "admin".into(),
            uid: 2,
        }
    }
}

/// Mutable server state.
struct Inner {
    credentials: Credentials,
    model_installed: bool,
    delay: Duration,
    failure: Option<u16>,
    applied: Vec<Value>,
    seen: HashSet<String>,
    duplicates: u64,
    calls: HashMap<String, u64>,
    extra_methods: HashMap<(String, String), Value>,
    method_calls: Vec<MethodCall>,
}

/// One recorded call of a method accepted with [`TestServer::accept_method`].
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// The model, e.g. `crm.phonecall`.
    pub model: String,
    /// The method, e.g. `originate_call_response`.
    pub method: String,
    /// The positional arguments (`execute_kw`'s `args`).
    pub args: Vec<Value>,
    /// The keyword arguments (`execute_kw`'s `kwargs`; `{}` when absent).
    pub kwargs: Value,
}

struct State {
    inner: Mutex<Inner>,
    requests: AtomicU64,
    in_flight: AtomicU64,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A running Odoo double on 127.0.0.1.
pub struct TestServer {
    state: Arc<State>,
    addr: SocketAddr,
    running: Mutex<Option<(watch::Sender<()>, JoinHandle<()>)>>,
}

impl TestServer {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start(credentials: Credentials) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            inner: Mutex::new(Inner {
                credentials,
                model_installed: true,
                delay: Duration::ZERO,
                failure: None,
                applied: Vec::new(),
                seen: HashSet::new(),
                duplicates: 0,
                calls: HashMap::new(),
                extra_methods: HashMap::new(),
                method_calls: Vec::new(),
            }),
            requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
        });
        let server = Self {
            state,
            addr,
            running: Mutex::new(None),
        };
        server.serve(listener);
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`, the value for `OdooConfig::url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes the port and every open connection: clients get "connection refused".
    pub async fn stop(&self) {
        let running = self.running_slot().take();
        if let Some((stop, task)) = running {
            drop(stop);
            let _ = task.await;
        }
    }

    /// Listens again on the same port after [`Self::stop`].
    pub async fn restart(&self) -> std::io::Result<()> {
        if self.running_slot().is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        self.serve(listener);
        Ok(())
    }

    /// Delays every answer by `delay`, after the request has been applied.
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().delay = delay;
    }

    /// Answers every request with this HTTP status (e.g. 502) and an HTML body; `None` heals.
    pub fn set_failure(&self, status: Option<u16>) {
        self.state.lock().failure = status;
    }

    /// Accepts another secret from now on (the client's key becomes wrong).
    pub fn set_secret(&self, secret: &str) {
        self.state.lock().credentials.secret = secret.to_owned();
    }

    /// Gives the login another uid (a restored database): the client's cached uid becomes wrong.
    pub fn set_uid(&self, uid: i64) {
        self.state.lock().credentials.uid = uid;
    }

    /// Installs or uninstalls the `webrtc.session` model.
    pub fn set_model_installed(&self, installed: bool) {
        self.state.lock().model_installed = installed;
    }

    /// Accepts calls of `model.method` from now on: each is recorded (see [`Self::method_calls`]) and
    /// answered with `result`. Any model may be given, `webrtc.session` included.
    pub fn accept_method(&self, model: &str, method: &str, result: Value) {
        self.state
            .lock()
            .extra_methods
            .insert((model.to_owned(), method.to_owned()), result);
    }

    /// The recorded calls of `model.method` (accepted with [`Self::accept_method`]), in arrival order.
    pub fn method_calls(&self, model: &str, method: &str) -> Vec<MethodCall> {
        self.state
            .lock()
            .method_calls
            .iter()
            .filter(|c| c.model == model && c.method == method)
            .cloned()
            .collect()
    }

    /// HTTP requests received.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> u64 {
        self.state.in_flight.load(Ordering::SeqCst)
    }

    /// Calls of `service.method` (e.g. `common.login`, `object.execute_kw`) that reached dispatch.
    pub fn calls(&self, service_method: &str) -> u64 {
        self.state
            .lock()
            .calls
            .get(service_method)
            .copied()
            .unwrap_or(0)
    }

    /// Every event applied by `gateway_report`, in the order applied (each key once).
    pub fn applied(&self) -> Vec<Value> {
        self.state.lock().applied.clone()
    }

    /// The keys of [`Self::applied`].
    pub fn applied_keys(&self) -> Vec<String> {
        self.state
            .lock()
            .applied
            .iter()
            .filter_map(|e| e.get("key").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    /// Events received again after being applied (ignored by key).
    pub fn duplicates(&self) -> u64 {
        self.state.lock().duplicates
    }

    fn running_slot(&self) -> MutexGuard<'_, Option<(watch::Sender<()>, JoinHandle<()>)>> {
        match self.running.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn serve(&self, listener: TcpListener) {
        let (stop, mut stopped) = watch::channel(());
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            // Dropping the set on return aborts every connection, so a stop really disconnects.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        let state = state.clone();
                        connections.spawn(async move {
                            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    changed = stopped.changed() => if changed.is_err() { return },
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        *self.running_slot() = Some((stop, task));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some((_, task)) = self.running_slot().take() {
            task.abort();
        }
    }
}

/// Decrements the in-flight count however the request ends (also when the connection is aborted).
struct InFlight(Arc<State>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    let _guard = InFlight(state.clone());
    let path_ok = req.uri().path() == "/jsonrpc" && req.method() == hyper::Method::POST;
    let body = req.into_body().collect().await?.to_bytes();
    let (delay, failure) = {
        let inner = state.lock();
        (inner.delay, inner.failure)
    };
    let response = if let Some(status) = failure {
        html(
            status,
            "<html><body><h1>Odoo is restarting</h1></body></html>",
        )
    } else if !path_ok {
        html(404, "<!doctype html><title>404 Not Found</title>")
    } else {
        match serde_json::from_slice::<Value>(&body) {
            // Captured: a body that is not JSON gets HTTP 400, text/html, "Invalid JSON data".
            Err(_) => html(400, "Invalid JSON data"),
            Ok(request) => json(dispatch::dispatch(&mut state.lock(), &request)),
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(response)
}

fn html(status: u16, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn json(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
