//! The test server answers the captured Odoo 18 requests with the captured bytes: same key order,
//! `", "`/`": "` separators, HTTP 200 for errors, HTTP 400 text/html for invalid JSON. Only the
//! `debug` traceback text differs.
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use bytes::Bytes;
use gateway_odoo::test_server::{Credentials, TestServer};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

async fn post(url: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = hyper::Request::post(format!("{url}/jsonrpc"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (
        status,
        content_type,
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

/// Replaces the `"debug": "..."` string (the traceback) so bodies compare byte for byte otherwise.
fn without_debug(body: &[u8]) -> String {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let Some(start) = text.find("\"debug\": \"") else {
        return text;
    };
    let value_start = start + "\"debug\": ".len();
    let mut stream = serde_json::Deserializer::from_str(&text[value_start..]).into_iter::<Value>();
    stream.next().unwrap().unwrap();
    let end = value_start + stream.byte_offset();
    format!(
        "{}\"debug\": \"<traceback>\"{}",
        &text[..start],
        &text[end..]
    )
}

fn capture(name: &str) -> (Value, Vec<u8>) {
    let meta: Value =
        serde_json::from_slice(&std::fs::read(format!("{DIR}/{name}.json")).unwrap()).unwrap();
    (
        meta,
        std::fs::read(format!("{DIR}/raw/{name}.body")).unwrap(),
    )
}

async fn assert_replays(server: &TestServer, name: &str, rename: Option<(&str, &str)>) {
    let (meta, raw) = capture(name);
    let swap = |s: String| match rename {
        Some((from, to)) => s.replace(from, to),
        None => s,
    };
    let request = swap(meta["request"].to_string());
    let expected = swap(String::from_utf8(raw).unwrap());
    let (status, content_type, body) = post(&server.url(), request.into_bytes()).await;
    assert_eq!(status, 200, "{name}");
    assert_eq!(content_type, "application/json; charset=utf-8", "{name}");
    assert_eq!(
        without_debug(&body),
        without_debug(expected.as_bytes()),
        "{name}"
    );
}

#[tokio::test]
async fn success_and_error_bodies_match_the_captures() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    server.set_model_installed(false); // the captures were taken before the addon was installed
    for name in [
        "common-version-ok",
        "common-login-ok",
        "common-login-wrong-password",
        "common-login-unknown-user",
        "common-authenticate-ok",
        "common-authenticate-wrong-password",
        "common-login-db-not-found",
        "object-execute_kw-db-not-found",
        "object-execute_kw-model-not-found",
        "object-execute_kw-wrong-password",
        "object-execute_kw-wrong-uid",
        "jsonrpc-malformed-method-not-call",
        "jsonrpc-malformed-params-args-not-list",
        "jsonrpc-malformed-params-is-list",
        "jsonrpc-malformed-params-missing-service",
        "jsonrpc-malformed-params-unknown-method",
        "jsonrpc-malformed-params-unknown-service",
        "jsonrpc-malformed-params-wrong-arg-count",
    ] {
        assert_replays(&server, name, None).await;
    }
    // Method errors were captured on discuss.channel; the double's only model is webrtc.session.
    server.set_model_installed(true);
    for name in [
        "object-execute_kw-method-not-found",
        "object-execute_kw-private-method",
    ] {
        assert_replays(&server, name, Some(("discuss.channel", "webrtc.session"))).await;
    }
}

#[tokio::test]
async fn invalid_json_is_http_400_text() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    let (meta, raw) = capture("jsonrpc-malformed-body-invalid-json");
    let sent = meta["request_raw_body"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let (status, content_type, body) = post(&server.url(), sent).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "text/html; charset=utf-8")
    );
    assert_eq!(body, raw);
}
