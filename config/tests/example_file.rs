//! `gateway.example.toml` at the workspace root loads, equals the defaults except where it says so,
//! and documents every key; `docs/configuration.md` documents every key too.

use std::path::PathBuf;

use gateway_config::{Config, Secret};

/// Every key of the schema, as `section.key`.
const KEYS: &[&str] = &[
    "http.listen",
    "webrtc.ice_servers",
    "webrtc.public_ip",
    "webrtc.host_ip",
    "sip.listen",
    "sip.transport",
    "sip.proxy",
    "sip.domain",
    "sip.username",
    "sip.password",
    "sip.display_name",
    "sip.user_agent",
    "sip.t1",
    "sip.t2",
    "sip.t4",
    "sip.trunk",
    "sip.trunk_sources",
    "sip.register_expires",
    "sip.unregister_grace",
    "sip.options_interval",
    "sip.users",
    "media.rtp_ports",
    "media.sip_codecs",
    "media.rtp_timeout",
    "media.ip",
    "auth.dev_tokens",
    "log.level",
    "log.format",
];

fn workspace_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(workspace_file(name)).expect("file exists in the workspace")
}

#[test]
fn example_equals_the_defaults_plus_a_dev_token() {
    let loaded = Config::load(Some(&workspace_file("gateway.example.toml")), [])
        .unwrap_or_else(|e| panic!("gateway.example.toml is invalid:\n{e}"));
    // Documented in the file: the example adds one local dev user; the default has none.
    let mut expected = Config::default();
    expected
        .auth
        .dev_tokens
        .insert("alice".to_owned(), Secret::new("alice-token"));
    assert_eq!(loaded, expected);
}

#[test]
fn example_mentions_every_key_and_its_env_var() {
    let text = read("gateway.example.toml");
    let mut section = "";
    let mut set_keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
        } else if let Some((key, _)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            set_keys.push(format!("{section}.{}", key.trim()));
        }
    }
    for key in KEYS {
        let (section, name) = key.split_once('.').expect("section.key");
        let env = format!("WEBRTC_GATEWAY__{}__{}", section, name).to_uppercase();
        assert!(
            text.contains(&env),
            "gateway.example.toml lacks an example of {env}"
        );
        // user_agent's default carries the crate version, so the example shows it commented out.
        if *key == "sip.user_agent" {
            assert!(text.contains("# user_agent = "), "sip.user_agent missing");
        } else {
            assert!(
                set_keys.contains(&(*key).to_owned()),
                "gateway.example.toml lacks {key}"
            );
        }
    }
    assert_eq!(
        set_keys.len(),
        KEYS.len() - 1,
        "unexpected keys: {set_keys:?}"
    );
}

#[test]
fn reference_documents_every_key() {
    let text = read("docs/configuration.md");
    for key in KEYS {
        assert!(
            text.contains(&format!("`{key}`")),
            "docs/configuration.md lacks `{key}`"
        );
        let (section, name) = key.split_once('.').expect("section.key");
        let env = format!("WEBRTC_GATEWAY__{}__{}", section, name).to_uppercase();
        assert!(text.contains(&env), "docs/configuration.md lacks {env}");
    }
}
