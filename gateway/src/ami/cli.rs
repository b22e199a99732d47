//! The command line's AMI commands (`webrtc-gateway ami | events | originate`, docs/ami.md): they talk
//! to a running gateway over its HTTP API (plain HTTP/1.1), or straight to Asterisk with `--direct`
//! using the configuration's `[[ami.servers]]`.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use gateway_ami::{AmiClient, Message};
use gateway_config::Config;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::api::{parse_filter, passes};
use super::originate::{self, OriginateRequest};

/// How long `--direct` waits for the login.
const DIRECT_LOGIN: Duration = Duration::from_secs(10);

/// Where the commands go.
pub struct Connection {
    /// The loaded configuration (`--config`, or the defaults).
    pub config: Config,
    /// `--url`, e.g. `http://127.0.0.1:8080`; default: `http.listen`.
    pub url: Option<String>,
    /// `--api-key` or `WEBRTC_GATEWAY_API_KEY`.
    pub api_key: Option<String>,
    /// `--direct`: log in to AMI instead of using the gateway's API.
    pub direct: bool,
}

impl Connection {
    /// `host:port` of the gateway's HTTP listener.
    fn authority(&self) -> Result<String> {
        if let Some(url) = &self.url {
            let rest = url.strip_prefix("http://").ok_or_else(|| {
                anyhow!("--url must start with http:// (the CLI speaks plain HTTP), got {url:?}")
            })?;
            let authority = rest.split('/').next().unwrap_or_default();
            if authority.is_empty() {
                bail!("--url has no host: {url:?}");
            }
            return Ok(authority.to_owned());
        }
        if self.config.http.tls.is_some() {
            bail!("the gateway serves HTTPS; give a plain-HTTP --url, or use --direct");
        }
        let mut listen = self.config.http.listen;
        if listen.ip().is_unspecified() {
            listen.set_ip(if listen.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        Ok(listen.to_string())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<hyper::Response<Incoming>> {
        let authority = self.authority()?;
        let stream = TcpStream::connect(&authority)
            .await
            .with_context(|| format!("connecting to the gateway at {authority}"))?;
        stream.set_nodelay(true)?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, authority.as_str());
        if let Some(key) = &self.api_key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        Ok(sender.send_request(req.body(Full::new(body))?).await?)
    }

    /// A request whose whole JSON answer is returned; an error status becomes an error.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let response = self.send(method, path, body).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let value: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if !status.is_success() {
            bail!("{}", api_error(status, &value));
        }
        Ok(value)
    }

    /// A logged-in client of `server` (or the first configured one), for `--direct`.
    async fn direct_client(&self, server: Option<&str>) -> Result<AmiClient> {
        let servers = &self.config.ami.servers;
        let cfg = match server {
            Some(name) => servers
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| anyhow!("no [[ami.servers]] named {name:?} in the configuration"))?,
            None => servers
                .first()
                .ok_or_else(|| anyhow!("no [[ami.servers]] in the configuration"))?,
        };
        let client = AmiClient::spawn(super::client_config(cfg, self.config.limits.max_ami_line));
        client
            .wait_connected(DIRECT_LOGIN)
            .await
            .with_context(|| format!("logging in to AMI server {:?}", cfg.name))?;
        Ok(client)
    }
}

fn api_error(status: StatusCode, body: &Value) -> String {
    let message = body
        .get("error")
        .and_then(Value::as_str)
        .map_or_else(|| body.to_string(), str::to_owned);
    format!("the gateway answered {status}: {message}")
}

/// `webrtc-gateway ami [--server NAME] '<json>'`: the reply `{"response", "events"}`, pretty JSON
/// or YAML-like text.
pub async fn ami(
    conn: &Connection,
    server: Option<&str>,
    action: &str,
    yaml: bool,
) -> Result<String> {
    let json: Value = serde_json::from_str(action).context("the action must be a JSON object")?;
    let reply = if conn.direct {
        let client = conn.direct_client(server).await?;
        let result = client.action_json(&json).await;
        client.shutdown().await;
        let result = result?;
        json!({"response": result.response, "events": result.events})
    } else {
        let server = match server {
            Some(s) => s.to_owned(),
            None => first_server(conn).await?,
        };
        conn.call(
            Method::POST,
            &format!("/api/v1/ami/{}/action", encode(&server)),
            Some(json),
        )
        .await?
    };
    Ok(render(&reply, yaml))
}

async fn first_server(conn: &Connection) -> Result<String> {
    let servers = conn.call(Method::GET, "/api/v1/ami/servers", None).await?;
    servers
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .ok_or_else(|| anyhow!("the gateway has no AMI server"))
}

/// `webrtc-gateway events`: calls `out` with each matching event line until the stream ends (or the
/// process is interrupted). `on_ready` is called once the subscription is live.
pub async fn events(
    conn: &Connection,
    server: Option<&str>,
    filters: &[String],
    pretty: bool,
    mut on_ready: impl FnMut(&[String]),
    mut out: impl FnMut(&str),
) -> Result<()> {
    let parsed = filters
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!(e))?;
    if conn.direct {
        let client = conn.direct_client(server).await?;
        let mut rx = client.events();
        on_ready(&[client.name().to_owned()]);
        loop {
            match rx.recv().await {
                Ok(ev) if passes(&parsed, &ev) => out(&format_event(client.name(), &ev, pretty)),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("warning: {n} events dropped (the terminal is too slow)");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }
    let mut query = Vec::new();
    if let Some(s) = server {
        query.push(format!("server={}", encode(s)));
    }
    for f in filters {
        query.push(format!("filter={}", encode(f)));
    }
    let path = if query.is_empty() {
        "/api/v1/ami/events".to_owned()
    } else {
        format!("/api/v1/ami/events?{}", query.join("&"))
    };
    let response = conn.send(Method::GET, &path, None).await?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let bytes = body.collect().await?.to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        bail!("{}", api_error(status, &value));
    }
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        buf.extend_from_slice(&data);
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let Ok(value) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            if let Some(names) = value.get("subscribed").and_then(Value::as_array) {
                let names: Vec<String> = names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect();
                on_ready(&names);
            } else if let Some(n) = value.get("lagged") {
                eprintln!("warning: the gateway dropped {n} events (this client is too slow)");
            } else if let (Some(server), Some(event)) =
                (value["server"].as_str(), value.get("event"))
            {
                out(&format_value(server, event, pretty));
            }
        }
    }
    bail!("the gateway closed the event stream")
}

/// `webrtc-gateway originate --user U --number N`: the API's `{"originate_id"}`, or with `--direct` the
/// OriginateResponse itself (it waits for it).
pub async fn originate(conn: &Connection, req: OriginateRequest) -> Result<String> {
    if conn.direct {
        let client = conn.direct_client(req.server.as_deref()).await?;
        let id = format!("o-{}", crate::signaling::session::random_id());
        let plan = originate::plan(&conn.config, &req, &id, true, false)?;
        let outcome = client.originate(plan.action).await;
        client.shutdown().await;
        return Ok(render(&originate::result_object(&id, &outcome), false));
    }
    let body = serde_json::json!({
        "user": req.user, "number": req.number, "server": req.server, "caller_id": req.caller_id,
    });
    let reply = conn
        .call(Method::POST, "/api/v1/originate", Some(body))
        .await?;
    Ok(render(&reply, false))
}

fn format_event(server: &str, event: &Message, pretty: bool) -> String {
    format_value(
        server,
        &serde_json::to_value(event).unwrap_or(Value::Null),
        pretty,
    )
}

/// One event line: compact `{"server", "event"}` JSON, or `server/EventName` and pretty JSON.
fn format_value(server: &str, event: &Value, pretty: bool) -> String {
    if pretty {
        let name = event.get("Event").and_then(Value::as_str).unwrap_or("?");
        let body = serde_json::to_string_pretty(event).unwrap_or_default();
        format!("{server}/{name}\t{body}")
    } else {
        json!({"server": server, "event": event}).to_string()
    }
}

/// Pretty JSON, or YAML-like text (`--yaml`, like the seed's `salt-call` output).
pub fn render(value: &Value, yaml: bool) -> String {
    if !yaml {
        return serde_json::to_string_pretty(value).unwrap_or_default();
    }
    let mut out = String::new();
    yaml_value(value, 0, &mut out);
    out.trim_end().to_owned()
}

fn yaml_value(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yaml_value(v, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yaml_value(v, indent + 2, out);
                    }
                    other => out.push_str(&format!("{pad}{k}: {}\n", scalar(other))),
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}-\n"));
                        yaml_value(item, indent + 2, out);
                    }
                    other => out.push_str(&format!("{pad}- {}\n", scalar(other))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s)
            if !s.is_empty()
                && !s.starts_with([
                    ' ', '-', '[', '{', '"', '\'', '#', '&', '*', '!', '|', '>', '%', '@',
                ])
                && !s.ends_with(' ')
                && !s.contains(": ")
                && !s.contains(" #") =>
        {
            s.clone()
        }
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
        other => other.to_string(),
    }
}

/// Percent-encoding of a query or path component (RFC 3986 section 2.3 unreserved characters kept).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's reply to `{"Action":"Ping"}` (asterisk22/03 values), as YAML-like text.
    #[test]
    fn yaml_like_rendering() {
        let reply = json!({"response": {"Response": "Success", "ActionID": "gw1-2", "Ping": "Pong",
            "Timestamp": "1795220405.511845"}, "events": []});
        assert_eq!(
            render(&reply, true),
            "events: []\nresponse:\n  ActionID: gw1-2\n  Ping: Pong\n  Response: Success\n  Timestamp: 1795220405.511845"
        );
        let list = json!({"events": [{"Event": "CoreShowChannel", "AccountCode": ""}], "n": 2, "x": "a: b"});
        assert_eq!(
            render(&list, true),
            "events:\n  -\n    AccountCode: \"\"\n    Event: CoreShowChannel\nn: 2\nx: \"a: b\""
        );
        assert!(render(&reply, false).starts_with("{\n"));
    }

    /// RFC 3986 section 2.1 percent-encoding of everything but the unreserved set.
    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(encode("Event=Hangup"), "Event%3DHangup");
        assert_eq!(encode("Cause=re:^1 6$"), "Cause%3Dre%3A%5E1%206%24");
        assert_eq!(encode("pbx-1_a.b~"), "pbx-1_a.b~");
    }

    #[test]
    fn the_default_url_is_the_http_listener_on_loopback() {
        let conn = |listen: &str, url: Option<&str>| Connection {
            config: Config::from_toml_str(
                &format!("[http]\nlisten = \"{listen}\"\n[webrtc]\nhost_ip = \"192.0.2.1\"\n"),
                [],
            )
            .unwrap(),
            url: url.map(str::to_owned),
            api_key: None,
            direct: false,
        };
        assert_eq!(
            conn("0.0.0.0:8080", None).authority().unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            conn("127.0.0.1:9", Some("http://10.0.0.1:8080/x"))
                .authority()
                .unwrap(),
            "10.0.0.1:8080"
        );
        assert!(conn("127.0.0.1:9", Some("https://gw")).authority().is_err());
    }
}
