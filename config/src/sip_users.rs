//! `[sip.users.<name>]`: the SIP accounts the gateway registers for its users, so that Asterisk can
//! call them. The gateway holds the passwords; they never reach a browser.

use std::collections::BTreeMap;

use toml::Value;

use crate::Secret;
use crate::raw::{Ctx, Table, kind, secret, string};
use crate::sip::{SipConfig, checked_string, is_sip_user};

/// One user's SIP account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUser {
    /// Digest user name of the user's REGISTER and user part of its Contact; defaults to the
    /// gateway user name (the `<name>` of `[sip.users.<name>]`).
    pub username: String,
    /// Digest password; never empty.
    pub password: Secret,
    /// The number phones dial to reach the user, when it differs from `username`.
    pub extension: Option<String>,
}

impl SipConfig {
    /// The gateway user whose SIP username or extension is `sip_user` (the user part of an inbound
    /// request-URI). SIP user parts compare case-sensitively (RFC 3261 §19.1.4).
    pub fn user_for_sip_user(&self, sip_user: &str) -> Option<(&str, &SipUser)> {
        self.users
            .iter()
            .find(|(_, u)| u.username == sip_user || u.extension.as_deref() == Some(sip_user))
            .map(|(name, u)| (name.as_str(), u))
    }
}

/// One user as read, with the keys that name its SIP identities (for conflict errors).
struct ReadUser {
    user: SipUser,
    username_key: String,
    extension_key: String,
}

/// `sip.users`: gateway user name -> account. SIP usernames and extensions name one user each.
pub(crate) fn users(ctx: &mut Ctx, key: &str, value: Value) -> Option<BTreeMap<String, SipUser>> {
    let entries = match value {
        Value::Table(entries) => entries,
        other => {
            // The kind only: a mistaken `users = "alice:password"` must not be printed.
            ctx.error(
                key,
                format!("expected a table of users, got {}", kind(&other)),
            );
            return None;
        }
    };
    let mut names = Table::new(key, entries);
    let mut users: BTreeMap<String, SipUser> = BTreeMap::new();
    // Every SIP username and extension seen so far, with the gateway user it belongs to.
    let mut taken: Vec<(String, String)> = Vec::new();
    for (user_key, name, value) in names.drain() {
        let Some(read) = user(ctx, &user_key, &name, value) else {
            continue;
        };
        let identities = [
            (
                "SIP username",
                Some(&read.user.username),
                &read.username_key,
            ),
            (
                "extension",
                read.user.extension.as_ref(),
                &read.extension_key,
            ),
        ];
        let mut conflict = false;
        for (what, id, id_key) in identities {
            let Some(id) = id else { continue };
            if let Some((_, owner)) = taken.iter().find(|(taken_id, _)| taken_id == id) {
                ctx.error(
                    id_key,
                    format!(
                        "{what} {id:?} is already the SIP username or extension of user {owner:?}"
                    ),
                );
                conflict = true;
            }
        }
        if conflict {
            continue;
        }
        taken.push((read.user.username.clone(), name.clone()));
        if let Some(extension) = &read.user.extension {
            taken.push((extension.clone(), name.clone()));
        }
        users.insert(name, read.user);
    }
    names.finish(ctx);
    Some(users)
}

/// One `[sip.users.<name>]` table; `None` when anything in it is invalid (already reported).
fn user(ctx: &mut Ctx, key: &str, name: &str, value: Value) -> Option<ReadUser> {
    let entries = match value {
        Value::Table(entries) => entries,
        other => {
            ctx.error(
                key,
                format!(
                    "expected a table like {{ password = \"...\" }}, got {}",
                    kind(&other)
                ),
            );
            return None;
        }
    };
    let name_valid = !name.trim().is_empty() && !name.chars().any(char::is_control);
    if !name_valid {
        ctx.error(
            key,
            format!("expected a non-blank user name without control characters, got {name:?}"),
        );
    }
    let mut t = Table::new(key, entries);
    let username_key = t.path_of("username");
    let explicit_username = t.get(ctx, "username", None, |ctx, key, value| {
        checked_string(ctx, key, value, is_sip_user, "a SIP user name").map(Some)
    });
    let password_key = t.path_of("password");
    let password = t.get(ctx, "password", None, |ctx, key, value| {
        secret(ctx, key, value).map(Some)
    });
    let extension_key = t.path_of("extension");
    let extension = t.get(ctx, "extension", None, |ctx, key, value| {
        let extension = string(ctx, key, value)?;
        if extension.is_empty() {
            Some(None)
        } else if is_sip_user(&extension) {
            Some(Some(extension))
        } else {
            ctx.error(
                key,
                format!("expected an extension (a SIP user name), got {extension:?}"),
            );
            None
        }
    });
    t.finish(ctx);

    let username_invalid = ctx.has_error(&username_key);
    // A conflict is reported on the username key when it was written, else on the user's table.
    let username_key = if explicit_username.is_some() {
        username_key
    } else {
        key.to_owned()
    };
    let username = match explicit_username {
        Some(username) => Some(username),
        None if username_invalid || !name_valid => None,
        None if is_sip_user(name) => Some(name.to_owned()),
        None => {
            ctx.error(
                key,
                format!("{name:?} is not a SIP user name, so this user needs a username = \"...\""),
            );
            None
        }
    };
    let password = match password {
        Some(password) if !password.is_empty() => Some(password),
        Some(_) => {
            ctx.error(
                &password_key,
                "must not be empty: a registering user needs a password",
            );
            None
        }
        None if ctx.has_error(&password_key) => None,
        None => {
            ctx.error(
                &password_key,
                "missing: a registering user needs a password",
            );
            None
        }
    };
    let extension_valid = !ctx.has_error(&extension_key);
    let (Some(username), Some(password), true) = (username, password, extension_valid) else {
        return None;
    };
    Some(ReadUser {
        user: SipUser {
            username,
            password,
            extension,
        },
        username_key,
        extension_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn users_of(toml: &str) -> BTreeMap<String, SipUser> {
        Config::from_toml_str(toml, []).expect("valid").sip.users
    }

    fn user_errors(toml: &str) -> String {
        Config::from_toml_str(toml, [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn every_user_key_is_read_and_username_defaults_to_the_name() {
        let users = users_of(
            r#"
            [sip.users.alice]
            username = "1001"
            password = "alice-sip-pw"
            extension = "201"
            [sip.users.bob]
            password = "bob-sip-pw"
            extension = ""
            "#,
        );
        let names: Vec<&str> = users.keys().map(String::as_str).collect();
        assert_eq!(names, ["alice", "bob"]);
        let alice = &users["alice"];
        assert_eq!(alice.username, "1001");
        assert_eq!(alice.password.expose(), "alice-sip-pw");
        assert_eq!(alice.extension.as_deref(), Some("201"));
        let bob = &users["bob"];
        assert_eq!(bob.username, "bob");
        assert_eq!(bob.password.expose(), "bob-sip-pw");
        assert_eq!(bob.extension, None);
    }

    #[test]
    fn inline_tables_work_too() {
        let users = users_of("[sip]\nusers = { carol = { password = \"p\" } }");
        assert_eq!(users["carol"].username, "carol");
    }

    /// Issue 3: an INVITE's request-URI user is a registered contact's user; SIP user parts are
    /// case-sensitive (RFC 3261 §19.1.4).
    #[test]
    fn a_request_uri_user_finds_its_gateway_user() {
        let c = Config::from_toml_str(
            "[sip.users.alice]\nusername = \"1001\"\npassword = \"p\"\nextension = \"201\"\n\
             [sip.users.bob]\npassword = \"q\"",
            [],
        )
        .expect("valid");
        let name = |user: &str| c.sip.user_for_sip_user(user).map(|(name, _)| name);
        assert_eq!(name("1001"), Some("alice"));
        assert_eq!(name("201"), Some("alice"));
        assert_eq!(name("bob"), Some("bob"));
        assert_eq!(name("Bob"), None);
        assert_eq!(name("alice"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn each_user_key_is_validated() {
        let cases = [
            (
                "[sip.users.alice]\nusername = \"a b\"\npassword = \"p\"",
                "sip.users.alice.username: expected a SIP user name, got \"a b\"",
            ),
            (
                "[sip.users.alice]\nusername = \"\"\npassword = \"p\"",
                "sip.users.alice.username: expected a SIP user name, got \"\"",
            ),
            (
                "[sip.users.alice]\npassword = \"p\"\nextension = \"2 01\"",
                "sip.users.alice.extension: expected an extension (a SIP user name), got \"2 01\"",
            ),
            (
                "[sip.users.alice]\npassword = \"p\"\nextension = 201",
                "sip.users.alice.extension: expected a string, got integer 201",
            ),
            (
                "[sip.users.alice]\nusername = \"1001\"",
                "sip.users.alice.password: missing: a registering user needs a password",
            ),
            (
                "[sip.users.alice]\npassword = \"\"",
                "sip.users.alice.password: must not be empty: a registering user needs a password",
            ),
            (
                "[sip.users.\"Jean Dupont\"]\npassword = \"p\"",
                "sip.users.\"Jean Dupont\": \"Jean Dupont\" is not a SIP user name, so this user \
                 needs a username = \"...\"",
            ),
            (
                "[sip.users.\" \"]\npassword = \"p\"",
                "sip.users.\" \": expected a non-blank user name without control characters, got \" \"",
            ),
            (
                "[sip.users.alice]\npassword = \"p\"\npasword = \"q\"",
                "sip.users.alice.pasword: unknown key (did you mean \"sip.users.alice.password\"?)",
            ),
            (
                "[sip]\nusers = [\"alice\"]",
                "sip.users: expected a table of users, got array",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(user_errors(toml), expected, "{toml}");
        }
    }

    #[test]
    fn a_sip_identity_belongs_to_one_user() {
        let text = user_errors(
            r#"
            [sip.users.alice]
            username = "1001"
            password = "p"
            extension = "201"
            [sip.users.alpha]
            username = "x1"
            password = "v"
            [sip.users.bob]
            username = "1001"
            password = "q"
            [sip.users.carol]
            password = "r"
            extension = "1001"
            [sip.users.dave]
            username = "201"
            password = "s"
            [sip.users.x1]
            password = "t"
            "#,
        );
        assert_eq!(
            text,
            "sip.users.bob.username: SIP username \"1001\" is already the SIP username or extension of user \"alice\"\n\
             sip.users.carol.extension: extension \"1001\" is already the SIP username or extension of user \"alice\"\n\
             sip.users.dave.username: SIP username \"201\" is already the SIP username or extension of user \"alice\"\n\
             sip.users.x1: SIP username \"x1\" is already the SIP username or extension of user \"alpha\""
        );
        // A user's own extension may repeat its username.
        let users = users_of("[sip.users.erin]\npassword = \"p\"\nextension = \"erin\"");
        assert_eq!(users["erin"].extension.as_deref(), Some("erin"));
    }

    #[test]
    fn passwords_never_appear_in_debug_or_errors() {
        let c = Config::from_toml_str("[sip.users.alice]\npassword = \"alice-sip-secret\"", [])
            .expect("valid");
        let debug = format!("{c:?} {c:#?}");
        assert!(!debug.contains("alice-sip-secret"), "{debug}");
        assert!(debug.contains("[redacted]"));

        let e = Config::from_toml_str(
            "[sip.users]\nalice = \"alice-sip-secret\"\nbob = { password = 31415926 }",
            env(&[("WEBRTC_GATEWAY__SIP__USERS__CAROL", "carol-sip-secret")]),
        )
        .expect_err("invalid");
        let text = format!("{e} {e:?}");
        for secret in ["alice-sip-secret", "31415926", "carol-sip-secret"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(
            e.to_string(),
            "sip.users.alice: expected a table like { password = \"...\" }, got string\n\
             sip.users.bob.password: expected a string, got integer\n\
             sip.users.carol: expected a table like { password = \"...\" }, got string \
             (set by WEBRTC_GATEWAY__SIP__USERS__CAROL)"
        );
        let e = Config::from_toml_str(
            "",
            env(&[("WEBRTC_GATEWAY__SIP__USERS", "alice:alice-sip-secret")]),
        )
        .expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "sip.users: expected a table of users, got string (set by WEBRTC_GATEWAY__SIP__USERS)"
        );
    }

    #[test]
    fn users_are_set_from_the_environment() {
        let c = Config::from_toml_str(
            "[sip.users.alice]\nusername = \"1001\"\npassword = \"from-file\"",
            env(&[
                ("WEBRTC_GATEWAY__SIP__USERS__ALICE__PASSWORD", "from-env"),
                ("WEBRTC_GATEWAY__SIP__USERS__BOB__PASSWORD", "1234"),
                ("WEBRTC_GATEWAY__SIP__USERS__BOB__USERNAME", "1002"),
                ("WEBRTC_GATEWAY__SIP__USERS__BOB__EXTENSION", "202"),
            ]),
        )
        .expect("valid");
        let users = &c.sip.users;
        assert_eq!(users["alice"].username, "1001");
        assert_eq!(users["alice"].password.expose(), "from-env");
        assert_eq!(users["bob"].username, "1002");
        assert_eq!(users["bob"].password.expose(), "1234");
        assert_eq!(users["bob"].extension.as_deref(), Some("202"));

        let e = Config::from_toml_str(
            "",
            env(&[("WEBRTC_GATEWAY__SIP__USERS__BOB__PASSWORD", "")]),
        )
        .expect_err("empty password");
        assert_eq!(
            e.to_string(),
            "sip.users.bob.password: must not be empty: a registering user needs a password \
             (set by WEBRTC_GATEWAY__SIP__USERS__BOB__PASSWORD)"
        );
    }
}
