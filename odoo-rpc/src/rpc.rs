//! The Odoo JSON-RPC client: `common.login`/`authenticate` and `object.execute_kw` over `POST {url}/jsonrpc`.
//!
//! Plain HTTP/1.1 with keep-alive and `TCP_NODELAY` (hyper). TLS is not built in: reach Odoo on the
//! LAN or through a local TLS-terminating proxy.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::error::OdooError;
use crate::jsonrpc::{decode_response, encode_call};

/// Odoo answers are small; anything larger than this is not an answer to our calls.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// A password or API key: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password or API key.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where and as whom to reach Odoo (`[odoo]` in the configuration).
#[derive(Debug, Clone)]
pub struct OdooConfig {
    /// Base URL, e.g. `http://odoo.lan:8069` (the client posts to `{url}/jsonrpc`).
    pub url: String,
    /// The Odoo database name.
    pub database: String,
    /// The technical user's login.
    pub login: String,
    /// The user's API key (preferred) or password.
    pub secret: Secret,
    /// Timeout of one HTTP exchange (connect included).
    pub timeout: Duration,
}

/// A JSON-RPC client for one Odoo database and user; caches the uid after the first login.
pub struct OdooClient {
    config: OdooConfig,
    endpoint: Uri,
    http: Client<HttpConnector, Full<Bytes>>,
    next_id: AtomicU64,
    uid: Mutex<Option<i64>>,
}

impl fmt::Debug for OdooClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OdooClient")
            .field("endpoint", &self.endpoint)
            .field("database", &self.config.database)
            .field("login", &self.config.login)
            .finish_non_exhaustive()
    }
}

impl OdooClient {
    /// Builds a client (no I/O yet). Fails if the URL is not an `http://` URL.
    pub fn new(config: OdooConfig) -> Result<Self, OdooError> {
        let raw = format!("{}/jsonrpc", config.url.trim_end_matches('/'));
        let endpoint: Uri = raw.parse().map_err(|e| OdooError::InvalidResponse {
            reason: format!("invalid Odoo URL {:?}: {e}", config.url),
        })?;
        if endpoint.scheme_str() != Some("http") {
            return Err(OdooError::InvalidResponse {
                reason: format!(
                    "Odoo URL {:?} must be http:// (TLS is not built in)",
                    config.url
                ),
            });
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.timeout));
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self {
            config,
            endpoint,
            http,
            next_id: AtomicU64::new(1),
            uid: Mutex::new(None),
        })
    }

    /// The configuration (its secret stays redacted in `Debug`).
    pub fn config(&self) -> &OdooConfig {
        &self.config
    }

    /// Calls `service.method(*args)` and returns the `result` (`Null` when Odoo sends none).
    pub async fn call(
        &self,
        service: &str,
        method: &str,
        args: &[Value],
    ) -> Result<Value, OdooError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = encode_call(id, service, method, args);
        let request = hyper::Request::post(self.endpoint.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| OdooError::InvalidResponse {
                reason: format!("cannot build request: {e}"),
            })?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                if e.is_connect() {
                    OdooError::ConnectionRefused {
                        message: error_chain(&e),
                    }
                } else {
                    OdooError::Transport {
                        message: error_chain(&e),
                    }
                }
            })?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| OdooError::Transport {
                    message: e.to_string(),
                })?
                .to_bytes();
            Ok::<_, OdooError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.config.timeout, exchange)
            .await
            .map_err(|_| OdooError::Timeout)??;
        let result = decode_response(status, &body, id);
        tracing::trace!(id, service, method, ok = result.is_ok(), "odoo rpc");
        result
    }

    /// `common.login(db, login, secret)`: the uid, or [`OdooError::LoginRefused`] when Odoo says `false`.
    pub async fn login(&self) -> Result<i64, OdooError> {
        self.log_in("login", Vec::new()).await
    }

    /// `common.authenticate(db, login, secret, {})`: like [`Self::login`], through the other entry point.
    pub async fn authenticate(&self) -> Result<i64, OdooError> {
        self.log_in("authenticate", vec![Value::Object(Default::default())])
            .await
    }

    async fn log_in(&self, method: &str, extra: Vec<Value>) -> Result<i64, OdooError> {
        let mut args = vec![
            Value::from(self.config.database.as_str()),
            Value::from(self.config.login.as_str()),
            Value::from(self.config.secret.expose()),
        ];
        args.extend(extra);
        let result = self.call("common", method, &args).await?;
        match result {
            Value::Bool(false) => Err(OdooError::LoginRefused),
            Value::Number(n) => match n.as_i64() {
                Some(uid) => {
                    self.set_uid(Some(uid));
                    tracing::debug!(uid, login = %self.config.login, "logged in to Odoo");
                    Ok(uid)
                }
                None => Err(invalid_uid(&Value::Number(n))),
            },
            other => Err(invalid_uid(&other)),
        }
    }

    /// `object.execute_kw(db, uid, secret, model, method, args, kwargs)`, logging in first if needed.
    ///
    /// When Odoo answers `AccessDenied` with a cached uid (a restored database, a changed user), the
    /// client logs in again once and repeats the call.
    pub async fn execute_kw(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: serde_json::Map<String, Value>,
    ) -> Result<Value, OdooError> {
        let (uid, fresh) = match self.cached_uid() {
            Some(uid) => (uid, false),
            None => (self.login().await?, true),
        };
        match self.execute_as(uid, model, method, &args, &kwargs).await {
            Err(OdooError::AccessDenied) if !fresh => {
                tracing::info!(login = %self.config.login, "Odoo refused the cached uid; logging in again");
                self.set_uid(None);
                let uid = self.login().await?;
                self.execute_as(uid, model, method, &args, &kwargs).await
            }
            other => other,
        }
    }

    async fn execute_as(
        &self,
        uid: i64,
        model: &str,
        method: &str,
        args: &[Value],
        kwargs: &serde_json::Map<String, Value>,
    ) -> Result<Value, OdooError> {
        let call_args = [
            Value::from(self.config.database.as_str()),
            Value::from(uid),
            Value::from(self.config.secret.expose()),
            Value::from(model),
            Value::from(method),
            Value::Array(args.to_vec()),
            Value::Object(kwargs.clone()),
        ];
        self.call("object", "execute_kw", &call_args).await
    }

    /// The uid from the last successful login, if any.
    pub fn cached_uid(&self) -> Option<i64> {
        match self.uid.lock() {
            Ok(guard) => *guard,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    fn set_uid(&self, uid: Option<i64>) {
        match self.uid.lock() {
            Ok(mut guard) => *guard = uid,
            Err(poisoned) => *poisoned.into_inner() = uid,
        }
    }
}

fn invalid_uid(result: &Value) -> OdooError {
    OdooError::InvalidResponse {
        reason: format!("login returned {result}, expected a uid or false"),
    }
}

/// The error and its sources on one line ("client error (Connect): tcp connect error: Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> OdooConfig {
        OdooConfig {
            url: url.into(),
            database: "gw".into(),
            login: "gateway".into(),
            secret: Secret::new("hunter2-api-key"),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn secret_is_never_printed() {
        let text = format!("{:?}", config("http://127.0.0.1:8069"));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("Secret(***)"));
    }

    #[tokio::test]
    async fn https_and_garbage_urls_are_refused() {
        assert!(OdooClient::new(config("https://odoo.example.com")).is_err());
        assert!(OdooClient::new(config("not a url")).is_err());
        let client = OdooClient::new(config("http://127.0.0.1:8069/")).unwrap();
        assert_eq!(client.endpoint, "http://127.0.0.1:8069/jsonrpc");
        assert!(!format!("{client:?}").contains("hunter2"));
    }
}
