//! Login accepted (asterisk22/01-login-success): banner, `Action: Login` with Username/Secret/Events,
//! `Authentication accepted`, then the client is Connected.

mod common;

use gateway_ami::ConnState;

#[tokio::test(start_paused = true)]
async fn login_ok() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    assert_eq!(
        *client.state().borrow(),
        ConnState::Connected {
            banner: "Asterisk Call Manager/11.0.0".into()
        }
    );
    let login = &server.actions_received()[0];
    assert_eq!(login.get("Action"), Some("Login"));
    assert_eq!(login.headers()[1].0, "ActionID");
    assert_eq!(login.get("Username"), Some("odoo"));
    assert_eq!(login.get("Secret"), Some("odoo-secret"));
    assert_eq!(login.get("Events"), Some("on"));
    assert_eq!(server.connections(), 1);
}
