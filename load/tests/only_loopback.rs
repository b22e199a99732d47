//! The generator refuses to run anywhere but 127.0.0.1 (issue 9: a load on loopback only), and
//! says why, before it opens a single socket.

use std::process::Command;

#[test]
fn a_non_loopback_url_is_refused_with_exit_code_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_webrtc-gateway-load"))
        .args([
            "--url",
            "ws://192.0.2.1:8080/ws",
            "--token",
            "t",
            "--calls",
            "1",
        ])
        .output()
        .expect("the binary under test runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(out.stdout.is_empty());
}
