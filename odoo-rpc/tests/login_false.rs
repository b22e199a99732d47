//! A wrong password or API key on `common.login`/`authenticate` is `"result": false` with HTTP 200
//! (captures common-login-wrong-password, common-authenticate-wrong-password), which the client
//! turns into `LoginRefused`; a right one gives the uid, which the client caches.
#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

mod common;

use gateway_odoo::OdooError;
use gateway_odoo::test_server::{Credentials, TestServer};

#[tokio::test]
async fn right_secret_gives_the_uid_and_caches_it() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    let client = common::client(&server);
    assert_eq!(client.cached_uid(), None);
    assert_eq!(client.login().await, Ok(2));
    assert_eq!(client.authenticate().await, Ok(2));
    assert_eq!(client.cached_uid(), Some(2));
    assert_eq!(server.calls("common.login"), 1);
    assert_eq!(server.calls("common.authenticate"), 1);
}

#[tokio::test]
async fn wrong_secret_is_login_refused_not_retryable() {
    let server = TestServer::start(Credentials::default()).await.unwrap();
    let client = common::client_with_secret(&server, "not-the-api-key");
    let login = client.login().await.unwrap_err();
    assert_eq!(login, OdooError::LoginRefused);
    assert!(!login.is_retryable());
    assert_eq!(client.authenticate().await, Err(OdooError::LoginRefused));
    let execute = client
        .execute_kw(
            "webrtc.session",
            "gateway_report",
            vec![serde_json::json!([])],
            Default::default(),
        )
        .await;
    assert_eq!(
        execute,
        Err(OdooError::LoginRefused),
        "execute_kw logs in first"
    );
    assert_eq!(client.cached_uid(), None);
}

#[tokio::test]
async fn unknown_database_is_typed() {
    let server = TestServer::start(Credentials {
        database: "other".into(),
        ..Credentials::default()
    })
    .await
    .unwrap();
    let client = common::client(&server);
    assert_eq!(
        client.login().await,
        Err(OdooError::DatabaseNotFound {
            database: "gw".into()
        })
    );
}
