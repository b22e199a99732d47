//! Garbage between messages (stray text, binary, blank lines) is skipped; the messages around it arrive
//! intact and the connection stays up.

mod common;

use gateway_ami::{Action, Message};

#[tokio::test(start_paused = true)]
async fn garbage_is_skipped() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    let mut events = client.events();

    server.inject_event(Message::new().with("Event", "Before"));
    server.send_raw(&b"this is not AMI\r\n\x00\x01\xfe\xff\r\n\r\n\n  \r\n"[..]);
    server.inject_event(
        Message::new()
            .with("Event", "After")
            .with("Linkedid", "1.1"),
    );

    let got: Vec<_> = async {
        let mut v = Vec::new();
        while v.len() < 2 {
            let ev = events.recv().await.unwrap();
            if matches!(ev.event(), Some("Before" | "After")) {
                v.push(ev);
            }
        }
        v
    }
    .await;
    assert_eq!(got[0].event(), Some("Before"));
    assert_eq!(
        *got[1],
        Message::new()
            .with("Event", "After")
            .with("Linkedid", "1.1")
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
