//! `[odoo] users_from_odoo`: a user's first device makes the gateway fetch the user's SIP account
//! with `res.users.webrtc_gateway_credentials(login)` (docs/odoo.md, the addon's
//! `models/res_users.py`) and register it; a reload within the cache lifetime costs no RPC; a user
//! Odoo does not know is not registered.

#![allow(clippy::unwrap_used)] // a test crate: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gateway::app::App;
use gateway::hub::on_first_device;
use gateway::odoo_users::OdooUsers;
use gateway::sip_driver::SipCommand;
use gateway_odoo::{OdooClient, OdooConfig, Secret};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The answer of Odoo 18 with the addon for `alice`, `false` for anyone else.
fn answer(request: &Value) -> Value {
    let args = &request["params"]["args"];
    let result = match request["params"]["method"].as_str() {
        Some("login") => json!(6),
        _ if args[3] == "res.users" && args[4] == "webrtc_gateway_credentials" => {
            if args[5][0] == "alice" {
                json!({"user_id": 7, "login": "alice", "name": "Alice", "extension": "1001",
                       "sip_username": "alice-sip", "sip_password": "from-odoo"})
            } else {
                json!(false)
            }
        }
        _ => json!(null),
    };
    json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
}

/// A minimal `/jsonrpc` over HTTP/1.1 keep-alive; counts `execute_kw` calls.
async fn odoo_stub() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    stream.read_exact(&mut body).await.unwrap();
                    let request: Value = serde_json::from_slice(&body).unwrap();
                    if request["params"]["method"] == "execute_kw" {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    let reply = answer(&request).to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        reply.len()
                    );
                    let out = stream.get_mut();
                    out.write_all(head.as_bytes()).await.unwrap();
                    out.write_all(reply.as_bytes()).await.unwrap();
                }
            });
        }
    });
    (url, calls)
}

fn app(url: &str) -> (App, mpsc::UnboundedReceiver<SipCommand>) {
    let config = gateway_config::Config::from_toml_str(
        "[sip]\nregister_expires = \"120s\"\n",
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let mut app = App::new(config, tx, "127.0.0.1:5060".parse().unwrap()).unwrap();
    let client = OdooClient::new(OdooConfig {
        url: url.into(),
        database: "gw".into(),
        login: "webrtc-gateway".into(),
        secret: Secret::new("api-key"),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    app.odoo_users = Some(Arc::new(OdooUsers::new(Arc::new(client))));
    (app, rx)
}

async fn next_command(rx: &mut mpsc::UnboundedReceiver<SipCommand>) -> SipCommand {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a SIP command within 10 s")
        .expect("the channel is open")
}

#[tokio::test]
async fn first_device_registers_the_account_from_odoo() {
    let (url, calls) = odoo_stub().await;
    let (app, mut sip) = app(&url);
    on_first_device(&app, "alice");
    match next_command(&mut sip).await {
        SipCommand::Register {
            user,
            username,
            password,
            expires,
        } => {
            assert_eq!((user.as_str(), username.as_str()), ("alice", "alice-sip"));
            assert_eq!(password, "from-odoo");
            assert_eq!(expires, Duration::from_secs(120));
        }
        other => panic!("expected Register, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // A reload: the cached account is registered again without asking Odoo.
    on_first_device(&app, "alice");
    assert!(matches!(
        next_command(&mut sip).await,
        SipCommand::Register { .. }
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let users = app.odoo_users.as_ref().unwrap();
    assert_eq!(
        users.user_for_sip_username("alice-sip").as_deref(),
        Some("alice")
    );

    // Odoo answers `false` for bob: no registration.
    assert_eq!(users.account("bob").await.unwrap(), None);
    on_first_device(&app, "bob");
    // Tasks run in order: alice's Register comes next only if bob's task sent nothing.
    on_first_device(&app, "alice");
    match next_command(&mut sip).await {
        SipCommand::Register { user, .. } => assert_eq!(user, "alice"),
        other => panic!("expected alice's Register, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "false is cached too");
}
