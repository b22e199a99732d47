//! The gateway's other peers: each `[[ami.servers]]` (TCP connect + Login) and Odoo
//! (`common.login` with the configured key, then the addon's `webrtc.session` model).

use std::time::Duration;

use gateway_ami::{AmiClient, ConnState};
use gateway_config::Config;
use gateway_odoo::{OdooClient, OdooError};

use super::Check;

/// How long one AMI server has to accept the connection and the Login.
const AMI_LOGIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The addon's model, present once the Odoo addon is installed.
const ADDON_MODEL: &str = "webrtc.session";

/// One line per `[[ami.servers]]`; a skip when there is none.
pub(super) async fn ami(config: &Config) -> Vec<Check> {
    if config.ami.servers.is_empty() {
        return vec![Check::skip("ami", "no [[ami.servers]]")];
    }
    let mut checks = Vec::new();
    for server in &config.ami.servers {
        let name = format!("ami.{}", server.name);
        let mut cfg = crate::ami::client_config(server, config.limits.max_ami_line);
        // A login probe: no events, no pings, one quick attempt.
        cfg.events = "off".into();
        cfg.ping_interval = None;
        cfg.connect_timeout = AMI_LOGIN_TIMEOUT;
        let client = AmiClient::spawn(cfg);
        let result = client.wait_connected(AMI_LOGIN_TIMEOUT).await;
        let banner = match &*client.state().borrow() {
            ConnState::Connected { banner } => banner.clone(),
            _ => String::new(),
        };
        client.shutdown().await;
        checks.push(match result {
            Ok(()) => Check::ok(
                name,
                format!(
                    "logged in to {} as {} ({banner})",
                    server.address, server.username
                ),
            ),
            Err(e) => Check::fail(
                name,
                format!("{}: {e}", server.address),
                "check the address and that manager.conf has `enabled = yes`, a bindaddr this host \
                 reaches, and a [user] with this secret whose permit= allows this host",
            ),
        });
    }
    checks
}

/// `common.login`, then `webrtc.session.search_count([])`.
pub(super) async fn odoo(config: &Config) -> Check {
    const NAME: &str = "odoo";
    let Some(odoo) = &config.odoo else {
        return Check::skip(NAME, "no [odoo]");
    };
    let client = match OdooClient::new(gateway_odoo::OdooConfig {
        url: odoo.url.clone(),
        database: odoo.database.clone(),
        login: odoo.login.clone(),
        secret: gateway_odoo::Secret::new(odoo.credential.secret().expose()),
        timeout: odoo.timeout,
    }) {
        Ok(c) => c,
        Err(e) => return Check::fail(NAME, e.to_string(), "odoo.url must be http://host:port"),
    };
    let uid = match client.login().await {
        Ok(uid) => uid,
        Err(e) => return Check::fail(NAME, format!("{}: {e}", odoo.url), fix(&e)),
    };
    let found = client
        .execute_kw(
            ADDON_MODEL,
            "search_count",
            vec![serde_json::json!([])],
            serde_json::Map::new(),
        )
        .await;
    match found {
        Ok(count) => Check::ok(
            NAME,
            format!(
                "logged in to {} database {} as {} (uid {uid}); addon present ({count} {ADDON_MODEL} records)",
                odoo.url, odoo.database, odoo.login
            ),
        ),
        Err(e) => Check::fail(
            NAME,
            format!("logged in as uid {uid}, but {ADDON_MODEL}: {e}"),
            fix(&e),
        ),
    }
}

/// The fix for an Odoo failure.
fn fix(e: &OdooError) -> &'static str {
    match e {
        OdooError::LoginRefused | OdooError::AccessDenied => {
            "create an API key for odoo.login (Preferences > Account Security) and set odoo.api_key"
        }
        OdooError::DatabaseNotFound { .. } => "set odoo.database to an existing database",
        OdooError::ModelNotFound { .. }
        | OdooError::MethodNotFound { .. }
        | OdooError::UserError { .. } => {
            "install (or upgrade) the webrtc_gateway addon in that database (Apps > Update Apps List)"
        }
        OdooError::AccessError { .. } => {
            "give odoo.login the addon's gateway group (Settings > Users)"
        }
        OdooError::Timeout | OdooError::ConnectionRefused { .. } | OdooError::Transport { .. } => {
            "start Odoo or correct odoo.url; check that this host reaches it (curl <url>/web/login)"
        }
        _ => "see Odoo's log for the error (docs/odoo.md)",
    }
}
