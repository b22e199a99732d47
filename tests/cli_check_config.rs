//! `check-config` prints every problem with its key and exits non-zero; `serve` refuses the same
//! file with the same message; a good file passes (issue: workspace and binary).

use std::process::Command;

const BAD: &str = r#"
[http]
listen = "not-an-address"
[sip]
lisen = "127.0.0.1:5080"
transport = "carrier-pigeon"
password = "hunter2"
[media]
rtp_ports = "30000-20000"
sip_codecs = ["opus", "g729"]
"#;

fn run(args: &[&str], file: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_webrtc-gateway"))
        .args(args)
        .arg("--config")
        .arg(file)
        .env_remove("WEBRTC_GATEWAY__LOG__LEVEL")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn check_config_lists_every_problem_and_serve_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, BAD).unwrap();

    let (code, text) = run(&["check-config"], &bad);
    assert_ne!(code, 0, "check-config must fail on a bad file:\n{text}");
    for key in [
        "http.listen",
        "sip.lisen",
        "sip.transport",
        "media.rtp_ports",
        "media.sip_codecs",
    ] {
        assert!(text.contains(key), "no line for {key} in:\n{text}");
    }
    assert!(!text.contains("hunter2"), "a secret leaked:\n{text}");

    let (serve_code, serve_text) = run(&["serve"], &bad);
    assert_ne!(
        serve_code, 0,
        "serve must refuse a bad config:\n{serve_text}"
    );
    assert_eq!(
        serve_text, text,
        "serve and check-config must print the same problems"
    );
}

#[test]
fn check_config_accepts_the_example_file() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gateway.example.toml");
    let (code, text) = run(&["check-config"], &example);
    assert_eq!(code, 0, "{text}");
}
