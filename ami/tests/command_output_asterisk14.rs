//! `Command` output in the Asterisk 14+ form (asterisk22/04, 04b, 04c): one `Output:` header per CLI line,
//! empty lines and leading spaces kept; an unknown command is `Response: Error` with the CLI's complaint.

mod common;

use gateway_ami::AmiError;

#[tokio::test(start_paused = true)]
async fn output_lines_and_unknown_command() {
    let server = common::server().await;
    let client = common::connected(&server).await;

    let version = client.command("core show version").await.unwrap();
    assert_eq!(
        version,
        [
            "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-20 23:56:31 UTC"
        ]
    );

    let endpoints = client.command("pjsip show endpoints").await.unwrap();
    assert_eq!(endpoints.len(), 37);
    assert_eq!(endpoints[0], "");
    assert_eq!(
        endpoints[1],
        " Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>"
    );
    assert_eq!(endpoints[35], "Objects found: 4");

    match client.command("foo bar baz").await {
        Err(AmiError::ActionFailed {
            message, output, ..
        }) => {
            assert_eq!(message, "Command output follows");
            assert_eq!(
                output,
                [
                    "No such command 'foo bar baz' (type 'core show help foo bar' for other possible commands)"
                ]
            );
        }
        other => panic!("expected ActionFailed, got {other:?}"),
    }
}
