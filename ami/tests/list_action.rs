//! A list action (asterisk22/06, 06b): `EventList: start` ... `CoreShowChannel` events ...
//! `EventList: Complete` come back as one result; list items are not broadcast as events.

mod common;

use serde_json::json;

#[tokio::test(start_paused = true)]
async fn core_show_channels_is_one_result() {
    let server = common::server().await;
    let client = common::connected(&server).await;
    let mut events = client.events();

    server.set_active_call(true);
    let result = client
        .action_json(&json!({"Action": "CoreShowChannels"}))
        .await
        .unwrap();
    assert_eq!(result.response.get("EventList"), Some("start"));
    let names: Vec<_> = result.events.iter().map(|e| e.event().unwrap()).collect();
    assert_eq!(
        names,
        [
            "CoreShowChannel",
            "CoreShowChannel",
            "CoreShowChannelsComplete"
        ]
    );
    assert!(
        result
            .events
            .iter()
            .all(|e| e.action_id() == Some(result.action_id.as_str()))
    );
    assert_eq!(result.events[0].get("Channel"), Some("PJSIP/sipp-00000013"));
    assert_eq!(
        result.events[1].get("UNIQUEID"),
        Some("asterisk-testpeer-1795220425.20")
    );
    assert_eq!(result.events[2].get("ListItems"), Some("2"));

    server.set_active_call(false);
    let idle = client
        .action_json(&json!({"Action": "CoreShowChannels"}))
        .await
        .unwrap();
    assert_eq!(idle.events.len(), 1);
    assert_eq!(idle.events[0].get("ListItems"), Some("0"));

    // The JSON view the HTTP API returns keeps wire order.
    let text = serde_json::to_string(&idle).unwrap();
    assert!(
        text.contains(r#""response":{"Response":"Success","ActionID":"#),
        "{text}"
    );

    while let Ok(ev) = events.try_recv() {
        assert!(
            !ev.event()
                .unwrap_or_default()
                .starts_with("CoreShowChannel"),
            "list item leaked: {ev:?}"
        );
    }
}
