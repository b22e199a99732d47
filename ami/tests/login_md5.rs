//! MD5 login (panoramisk login_md5.yaml): `Action: Challenge` / `AuthType: MD5`, then `Login` with
//! `Key` = md5(challenge + secret) and no `Secret` on the wire.

mod common;

use std::time::Duration;

use gateway_ami::AmiClient;

#[tokio::test(start_paused = true)]
async fn md5_challenge_login() {
    let server = common::server().await;
    let mut config = common::config(&server);
    config.md5 = true;
    let client = AmiClient::spawn(config);
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
    let actions = server.actions_received();
    assert_eq!(actions[0].get("Action"), Some("Challenge"));
    assert_eq!(actions[0].get("AuthType"), Some("MD5"));
    assert_eq!(actions[1].get("Action"), Some("Login"));
    assert_eq!(actions[1].get("Secret"), None);
    // md5("145769581" + "odoo-secret"), the challenge the server sends.
    let key = actions[1].get("Key").unwrap();
    assert_eq!(key.len(), 32);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test(start_paused = true)]
async fn md5_login_with_wrong_secret_is_refused() {
    let server = common::server().await;
    let mut config = common::config(&server);
    config.md5 = true;
    config.secret = "wrong-secret".into();
    let client = AmiClient::spawn(config);
    let state = common::wait_state(&client, Duration::from_secs(5), common::is_disconnected).await;
    assert!(format!("{state:?}").contains("Authentication failed"));
}
