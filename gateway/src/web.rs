//! The built-in softphone page and the JavaScript SDK, embedded in the binary so a single file
//! serves everything (`/`, `/softphone.js`, `/softphone.css`, `/webrtc-gateway.js`, `/sdk/...`).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// One embedded file: its body and content type.
struct Asset {
    body: &'static str,
    content_type: &'static str,
}

const INDEX: Asset = Asset {
    body: include_str!("../../web/index.html"),
    content_type: "text/html; charset=utf-8",
};
const SOFTPHONE_JS: Asset = Asset {
    body: include_str!("../../web/softphone.js"),
    content_type: "text/javascript; charset=utf-8",
};
const SOFTPHONE_CSS: Asset = Asset {
    body: include_str!("../../web/softphone.css"),
    content_type: "text/css; charset=utf-8",
};
const SDK_JS: Asset = Asset {
    body: include_str!("../../web/webrtc-gateway.js"),
    content_type: "text/javascript; charset=utf-8",
};
const SDK_TYPES: Asset = Asset {
    body: include_str!("../../web/webrtc-gateway.d.ts"),
    content_type: "text/plain; charset=utf-8",
};

fn serve(asset: &'static Asset) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        asset.body,
    )
}

/// The routes of the page and the SDK (no state).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { serve(&INDEX) }))
        .route("/index.html", get(|| async { serve(&INDEX) }))
        .route("/softphone.js", get(|| async { serve(&SOFTPHONE_JS) }))
        .route("/softphone.css", get(|| async { serve(&SOFTPHONE_CSS) }))
        .route("/webrtc-gateway.js", get(|| async { serve(&SDK_JS) }))
        .route("/sdk/webrtc-gateway.js", get(|| async { serve(&SDK_JS) }))
        .route(
            "/sdk/webrtc-gateway.d.ts",
            get(|| async { serve(&SDK_TYPES) }),
        )
}
