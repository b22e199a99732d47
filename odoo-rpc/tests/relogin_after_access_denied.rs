//! When Odoo refuses the cached uid (a restored database gave the login another uid), the client
//! logs in again once and repeats the call.
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use gateway_odoo::test_server::{Credentials, TestServer};
use serde_json::json;

#[tokio::test]
async fn cached_uid_refused_triggers_one_relogin() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    let client = common::client(&server);
    let report =
        |key: &str| vec![json!([{"key": key, "group": "g", "kind": "ended", "payload": {}}])];
    assert_eq!(
        client
            .execute_kw(
                "webrtc.session",
                "gateway_report",
                report("a"),
                Default::default()
            )
            .await,
        Ok(json!(["a"]))
    );
    assert_eq!(server.requests(), 2);

    server.set_uid(7);
    let result = client
        .execute_kw(
            "webrtc.session",
            "gateway_report",
            report("b"),
            Default::default(),
        )
        .await;
    assert_eq!(result, Ok(json!(["b"])));
    assert_eq!(client.cached_uid(), Some(7));
    // execute_kw (AccessDenied), common.login, execute_kw.
    assert_eq!(server.requests(), 5);
    assert_eq!(server.calls("common.login"), 2);
}
