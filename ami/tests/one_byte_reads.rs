//! Every byte Asterisk sends arrives in its own TCP segment: banner, login, a 37-line command output and
//! an event are still framed exactly.

mod common;

use std::time::Duration;

use gateway_ami::Message;

#[tokio::test(start_paused = true)]
async fn trickled_bytes_frame_the_same() {
    let server = common::server().await;
    server.set_trickle(true);
    let client = common::connected(&server).await;
    let mut events = client.events();
    let lines = client.command("pjsip show endpoints").await.unwrap();
    assert_eq!(lines.len(), 37);
    assert_eq!(lines[35], "Objects found: 4");
    server.inject_event(
        Message::new()
            .with("Event", "VarSet")
            .with("Value", "  minrxlost=0.000000;"),
    );
    let ev = common::next_event(&mut events, "VarSet", Duration::from_secs(5)).await;
    assert_eq!(ev.get("Value"), Some("  minrxlost=0.000000;"));
}
