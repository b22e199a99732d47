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
    "media.echo_number",
    "media.max_video_kbps",
    "media.video_codecs",
    "auth.dev_tokens",
    "auth.token_secret",
    "auth.token_leeway",
    "log.level",
    "log.format",
    "http.resume_grace",
    "http.allowed_origins",
    "http.api_keys",
    "http.tls_cert",
    "http.tls_key",
    "http.max_sessions",
    "webrtc.turn",
    "webrtc.deny_candidates",
    "sip.allowed_numbers",
    "sip.max_calls_per_user",
    "sip.rate_limit_per_ip",
    "sip.block_for",
    "sip.session_timer",
    "storage.data_dir",
    "odoo.url",
    "odoo.database",
    "odoo.login",
    "odoo.api_key",
    "odoo.password",
    "odoo.timeout",
    "odoo.batch_size",
    "odoo.users_from_odoo",
    "ami.servers",
    "ami.originate_channel",
    "ami.originate_context",
    "ami.originate_timeout",
    "ami.forward",
    "limits.max_sip_message",
    "limits.max_json_frame",
    "limits.max_sdp_line",
    "limits.max_ami_line",
    "limits.ws_connections_per_ip_per_min",
];

/// Keys the example shows commented out, with the text that shows them: their default cannot be
/// written as a value (a version-dependent string, or "not set").
const COMMENTED: &[(&str, &str)] = &[
    ("sip.user_agent", "# user_agent = "),
    ("webrtc.turn", "# turn = { urls = "),
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
        if let Some((_, shown)) = COMMENTED.iter().find(|(k, _)| k == key) {
            assert!(text.contains(shown), "{key} missing");
        } else {
            assert!(
                set_keys.contains(&(*key).to_owned()),
                "gateway.example.toml lacks {key}"
            );
        }
    }
    assert_eq!(
        set_keys.len(),
        KEYS.len() - COMMENTED.len(),
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

/// The TOML examples of the reference load (all but the deliberately bad one), so the documentation
/// cannot drift from the schema. Odoo is configured from the environment, as the examples suggest.
#[test]
fn reference_examples_load() {
    let text = read("docs/configuration.md");
    let env: Vec<(String, String)> = [
        ("WEBRTC_GATEWAY__ODOO__URL", "http://odoo:8069"),
        ("WEBRTC_GATEWAY__ODOO__DATABASE", "odoo"),
        ("WEBRTC_GATEWAY__ODOO__LOGIN", "gateway"),
        ("WEBRTC_GATEWAY__ODOO__API_KEY", "odoo-api-key"),
        ("WEBRTC_GATEWAY__ODOO__USERS_FROM_ODOO", "false"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    let mut checked = 0;
    let mut rest = text.as_str();
    while let Some(start) = rest.find("```toml\n") {
        let before = &rest[..start];
        let block = &rest[start + "```toml\n".len()..];
        let end = block.find("```").expect("closed code block");
        rest = &block[end + 3..];
        if before.trim_end().ends_with("`bad.toml`:") {
            continue;
        }
        if let Err(e) = Config::from_toml_str(&block[..end], env.clone()) {
            panic!(
                "docs/configuration.md example does not load:\n{}\n{e}",
                &block[..end]
            );
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} examples found");
}

/// The examples given in comments of `gateway.example.toml` load when uncommented.
#[test]
fn commented_examples_in_the_example_file_load() {
    let text = read("gateway.example.toml");
    let turn = text
        .lines()
        .find_map(|l| l.strip_prefix("# turn = "))
        .expect("turn example");
    Config::from_toml_str(&format!("[webrtc]\nturn = {turn}"), [])
        .unwrap_or_else(|e| panic!("turn example: {e}"));
    // The indented blocks under `#   [[ami.servers]]` and `#   [[ami.forward]]`.
    let mut toml = String::from(
        "[odoo]\nurl = \"http://o\"\ndatabase = \"d\"\nlogin = \"l\"\napi_key = \"k\"\n",
    );
    let mut in_block = false;
    for line in text.lines() {
        match line.strip_prefix("#   ") {
            Some(inner) if inner.starts_with("[[ami.") => {
                in_block = true;
                toml.push_str(inner);
                toml.push('\n');
            }
            Some(inner) if in_block => {
                toml.push_str(inner);
                toml.push('\n');
            }
            _ => in_block = false,
        }
    }
    let c = Config::from_toml_str(&toml, []).unwrap_or_else(|e| panic!("{toml}\n{e}"));
    assert_eq!(c.ami.servers.len(), 1);
    assert_eq!(c.ami.forward.len(), 1);
}
