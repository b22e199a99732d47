//! Events keep repeated keys in order and allow any header-name case (synthetic
//! edge-repeated-keys-chanvariable: two `ChanVariable:` headers, `Uniqueid` looked up as `UniqueID`).

mod common;

use std::time::Duration;

use gateway_ami::{Decoder, Frame};

#[tokio::test(start_paused = true)]
async fn chan_variables_arrive_in_order() {
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/synthetic/edge-repeated-keys-chanvariable.SYNTHETIC.txt"
    ))
    .unwrap();
    let mut d = Decoder::default();
    d.feed(&raw);
    let Some(Ok(Frame::Message(hangup))) = d.next_frame() else {
        panic!("fixture parses")
    };

    let server = common::server().await;
    let client = common::connected(&server).await;
    let mut events = client.events();
    server.inject_event(hangup.clone());
    let got = common::next_event(&mut events, "Hangup", Duration::from_secs(1)).await;
    assert_eq!(*got, hangup);
    assert_eq!(
        got.get_all("ChanVariable").collect::<Vec<_>>(),
        ["X_CALL_UUID=0b6f4d2c", "X_TENANT=acme"]
    );
    assert_eq!(got.get("UniqueID"), Some("1.1"));
    let json = serde_json::to_string(&*got).unwrap();
    assert!(
        json.ends_with(r#""ChanVariable":["X_CALL_UUID=0b6f4d2c","X_TENANT=acme"]}"#),
        "{json}"
    );
}
