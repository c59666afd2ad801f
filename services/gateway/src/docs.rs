//! The interactive API docs at `GET /docs`: a vendored Swagger UI (`static/swagger-ui/`,
//! embedded in the binary, so it works offline) pointed at `/openapi.json`. No auth.

use std::sync::LazyLock;

use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Redirect},
    routing::get,
};

use crate::app::AppState;

/// The vendored `swagger-ui-dist` version; part of the assets' URLs, so a new version is
/// fetched despite the year-long cache.
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

const BUNDLE_JS: &[u8] = include_bytes!("../static/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../static/swagger-ui/swagger-ui.css");
const INIT_JS: &str = include_str!("../static/docs-init.js");
static INDEX_HTML: LazyLock<String> = LazyLock::new(|| {
    include_str!("../static/docs.html").replace("SWAGGER_UI_VERSION", SWAGGER_UI_VERSION)
});

const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/docs", get(index))
        .route("/docs/", get(|| async { Redirect::permanent("/docs") }))
        .route("/docs/init.js", get(init_js))
        .route("/docs/swagger-ui-bundle.js", get(bundle_js))
        .route("/docs/swagger-ui.css", get(css))
}

async fn index() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, NO_CACHE),
        ],
        INDEX_HTML.as_str(),
    )
}

async fn init_js() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, NO_CACHE),
        ],
        INIT_JS,
    )
}

async fn bundle_js() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        BUNDLE_JS,
    )
}

async fn css() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        CSS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_loads_local_assets_only() {
        let html = INDEX_HTML.as_str();
        assert!(html.contains("/docs/swagger-ui-bundle.js?v=5.35.0"));
        assert!(html.contains("/docs/swagger-ui.css?v=5.35.0"));
        assert!(!html.contains("https://"), "no CDN");
        assert!(INIT_JS.contains("persistAuthorization: false"));
        assert!(INIT_JS.contains("tryItOutEnabled: true"));
        assert!(INIT_JS.contains("\"/openapi.json\""));
    }
}
