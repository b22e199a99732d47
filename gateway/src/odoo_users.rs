//! SIP accounts from Odoo (`[odoo] users_from_odoo`): when a user's first device connects, the
//! gateway asks `res.users.webrtc_gateway_credentials(login)` (docs/odoo.md, the addon's
//! `models/res_users.py`) and registers the answer with Asterisk. Answers are cached for a while,
//! so a page reload does not cost an RPC; "no account" is cached for less time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gateway_config::Secret;
use gateway_odoo::{OdooClient, OdooError};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::sip_driver::SipCommand;

/// The model and method of the addon that hand out SIP credentials (gateway group only).
pub const MODEL: &str = "res.users";
/// See [`MODEL`].
pub const METHOD: &str = "webrtc_gateway_credentials";
/// How long fetched credentials are reused.
pub const ACCOUNT_TTL: Duration = Duration::from_secs(300);
/// How long "Odoo has no SIP account for this user" is reused.
pub const NO_ACCOUNT_TTL: Duration = Duration::from_secs(30);

/// A user's SIP account as Odoo stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipAccount {
    /// The Odoo user id.
    pub user_id: i64,
    /// The Odoo login.
    pub login: String,
    /// The user's extension, if any.
    pub extension: Option<String>,
    /// SIP auth and contact user name.
    pub username: String,
    /// SIP digest password (empty when Odoo has none).
    pub password: Secret,
}

/// Reads the method's answer: the account, or `None` for `false` (unknown, inactive, no SIP user).
pub fn parse_account(result: &Value) -> Result<Option<SipAccount>, OdooError> {
    let invalid = |reason: &str| OdooError::InvalidResponse {
        reason: format!("{METHOD}: {reason}"),
    };
    let map = match result {
        Value::Bool(false) => return Ok(None),
        Value::Object(map) => map,
        _ => return Err(invalid("expected an object or false")),
    };
    // Odoo sends `false` for an empty Char field.
    let text = |name: &str| match map.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let username = text("sip_username").ok_or_else(|| invalid("no sip_username"))?;
    Ok(Some(SipAccount {
        user_id: map
            .get("user_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| invalid("no user_id"))?,
        login: text("login").unwrap_or_default(),
        extension: text("extension"),
        username,
        password: Secret::new(text("sip_password").unwrap_or_default()),
    }))
}

/// Answers by login with their expiry (sans-I/O: told the time).
#[derive(Debug, Default)]
pub struct AccountCache {
    entries: HashMap<String, (Instant, Option<SipAccount>)>,
}

impl AccountCache {
    /// The cached answer for `user` at `now`, if still fresh.
    pub fn get(&self, user: &str, now: Instant) -> Option<Option<SipAccount>> {
        match self.entries.get(user) {
            Some((until, answer)) if now < *until => Some(answer.clone()),
            _ => None,
        }
    }

    /// Caches `answer` for `user` from `now` (accounts longer than "no account"); drops stale entries.
    pub fn put(&mut self, user: &str, answer: Option<SipAccount>, now: Instant) {
        self.entries.retain(|_, (until, _)| now < *until);
        let ttl = if answer.is_some() {
            ACCOUNT_TTL
        } else {
            NO_ACCOUNT_TTL
        };
        self.entries.insert(user.to_owned(), (now + ttl, answer));
    }

    /// The login whose cached account has this SIP user name (for routing an INVITE).
    pub fn user_for_sip_username(&self, username: &str) -> Option<String> {
        self.entries.iter().find_map(|(login, (_, answer))| {
            answer
                .as_ref()
                .filter(|a| a.username == username)
                .map(|_| login.clone())
        })
    }
}

/// The Odoo side of the user directory.
pub struct OdooUsers {
    client: Arc<OdooClient>,
    cache: Mutex<AccountCache>,
}

impl OdooUsers {
    /// Looks users up through `client` (the reporter's).
    pub fn new(client: Arc<OdooClient>) -> Self {
        Self {
            client,
            cache: Mutex::new(AccountCache::default()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, AccountCache> {
        // The cache is a plain map; a panicking holder cannot leave it half-updated.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The SIP account of `user` (a login), from the cache or Odoo.
    pub async fn account(&self, user: &str) -> Result<Option<SipAccount>, OdooError> {
        if let Some(hit) = self
            .cache()
            .get(user, tokio::time::Instant::now().into_std())
        {
            return Ok(hit);
        }
        let result = self
            .client
            .execute_kw(MODEL, METHOD, vec![Value::from(user)], Map::new())
            .await?;
        let account = parse_account(&result)?;
        self.cache().put(
            user,
            account.clone(),
            tokio::time::Instant::now().into_std(),
        );
        Ok(account)
    }

    /// The login of a cached account with this SIP user name.
    pub fn user_for_sip_username(&self, username: &str) -> Option<String> {
        self.cache().user_for_sip_username(username)
    }

    /// Fetches `user`'s account and asks the SIP driver to register it (in a task; logs failures).
    pub fn register(
        self: &Arc<Self>,
        sip: &mpsc::UnboundedSender<SipCommand>,
        user: &str,
        expires: Duration,
    ) {
        let (users, sip, user) = (self.clone(), sip.clone(), user.to_owned());
        tokio::spawn(async move {
            match users.account(&user).await {
                Ok(Some(account)) => {
                    tracing::info!(%user, sip_username = %account.username, "SIP account from Odoo");
                    let _ = sip.send(SipCommand::Register {
                        user,
                        username: account.username,
                        password: account.password.expose().to_owned(),
                        expires,
                    });
                }
                Ok(None) => {
                    tracing::info!(%user, "Odoo has no SIP account for this user; not registering")
                }
                Err(e) => {
                    tracing::warn!(%user, error = %e, "cannot fetch the user's SIP account from Odoo")
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The answer shape of `webrtc_gateway_credentials` (models/res_users.py).
    #[test]
    fn answers_are_parsed() {
        let answer = json!({"user_id": 7, "login": "alice", "name": "Alice", "extension": "1001",
                            "sip_username": "alice-sip", "sip_password": "pw"});
        let account = parse_account(&answer).unwrap().unwrap();
        assert_eq!(account.user_id, 7);
        assert_eq!(account.username, "alice-sip");
        assert_eq!(account.password.expose(), "pw");
        assert_eq!(account.extension.as_deref(), Some("1001"));
        assert!(!format!("{account:?}").contains("pw\""), "{account:?}");
        let no_extras = json!({"user_id": 8, "login": "bob", "name": "Bob", "extension": false,
                               "sip_username": "bob", "sip_password": false});
        let bob = parse_account(&no_extras).unwrap().unwrap();
        assert_eq!((bob.extension, bob.password.is_empty()), (None, true));
        assert_eq!(parse_account(&json!(false)).unwrap(), None);
        for bad in [
            json!(null),
            json!([1]),
            json!({"user_id": 1}),
            json!({"sip_username": "x"}),
        ] {
            assert!(parse_account(&bad).is_err(), "{bad}");
        }
    }

    /// Accounts are reused for [`ACCOUNT_TTL`], "no account" for [`NO_ACCOUNT_TTL`].
    #[test]
    fn cache_expires() {
        let t0 = tokio::time::Instant::now().into_std();
        let account =
            parse_account(&json!({"user_id": 7, "login": "alice", "sip_username": "s7"})).unwrap();
        let mut cache = AccountCache::default();
        cache.put("alice", account.clone(), t0);
        cache.put("bob", None, t0);
        assert_eq!(
            cache.get("alice", t0 + Duration::from_secs(299)),
            Some(account)
        );
        assert_eq!(cache.get("bob", t0 + Duration::from_secs(29)), Some(None));
        assert_eq!(cache.get("bob", t0 + NO_ACCOUNT_TTL), None);
        assert_eq!(cache.get("alice", t0 + ACCOUNT_TTL), None);
        assert_eq!(cache.user_for_sip_username("s7").as_deref(), Some("alice"));
        assert_eq!(cache.user_for_sip_username("s8"), None);
        cache.put("carol", None, t0 + ACCOUNT_TTL);
        assert_eq!(cache.entries.len(), 1, "stale entries are dropped");
    }
}
