//! `Command` output in the pre-Asterisk-14 form (panoramisk rasterisk_command.yaml): LF line endings,
//! banner `Asterisk Call Manager/1.3`, `Response: Follows` then raw output up to `--END COMMAND--`.

mod common;

use std::time::Duration;

use gateway_ami::test_server::{Dialect, TestServer};
use gateway_ami::{AmiClient, ConnState};

#[tokio::test(start_paused = true)]
async fn follows_body_becomes_lines() {
    let server = TestServer::start_with(common::USER, common::SECRET, Dialect::Legacy)
        .await
        .unwrap();
    server.set_command_output(
        "core show hints",
        vec![
            "".into(),
            "    -= Registered Asterisk Dial Plan Hints =-".into(),
            "".into(),
        ],
    );
    let client = AmiClient::spawn(common::config(&server));
    client.wait_connected(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        *client.state().borrow(),
        ConnState::Connected {
            banner: "Asterisk Call Manager/1.3".into()
        }
    );

    let lines = client.command("core show channels").await.unwrap();
    assert_eq!(
        lines[1..],
        ["0 active channels", "0 active calls", "2 calls processed"]
    );
    assert!(lines[0].starts_with("Channel              Location"));

    // Blank lines inside the output do not end the message.
    let hints = client.command("core show hints").await.unwrap();
    assert_eq!(
        hints,
        ["", "    -= Registered Asterisk Dial Plan Hints =-", ""]
    );
}
