//! Signaling API v1 frames from the browser (JSON over `/ws`): never panics; a rejected frame is
//! answered with an error that serializes to JSON.
#![no_main]

use gateway::signaling::messages::parse_client_message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_client_message(text) {
        Ok(msg) => {
            let _ = format!("{msg:?}");
        }
        Err(reply) => {
            if let Err(e) = serde_json::to_string(&reply) {
                panic!("the error reply does not serialize: {e}");
            }
        }
    }
});
