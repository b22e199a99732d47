//! A 100 KB header line: that message is dropped (logged), the decoder resyncs at the next empty line,
//! the connection stays up and the next event arrives.

mod common;

use std::time::Duration;

use gateway_ami::{Action, Message};

#[tokio::test(start_paused = true)]
async fn oversized_line_is_dropped_and_the_stream_goes_on() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    let mut events = client.events();

    let mut huge = b"Event: Huge\r\nPrivilege: call,all\r\nValue: ".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 100 * 1024));
    huge.extend_from_slice(b"\r\nUniqueid: 1.1\r\n\r\n");
    server.send_raw(huge);
    server.inject_event(
        Message::new()
            .with("Event", "After")
            .with("Uniqueid", "1.2"),
    );

    let ev = tokio::time::timeout(Duration::from_secs(1), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev.event(),
        Some("After"),
        "the huge event is dropped, the next one is first"
    );
    assert!(
        client
            .action(Action::new("Ping"))
            .await
            .unwrap()
            .is_success()
    );
    assert_eq!(server.connections(), 1);
}
