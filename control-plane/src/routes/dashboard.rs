//! The web dashboard: `GET /` and `GET /dashboard/{file}`, static files compiled into the
//! binary (no CDN, no build step). The page talks to the same API with the tenant's token.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderName, IF_NONE_MATCH,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// One file of the dashboard.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// Every file the dashboard is made of; anything else under `/dashboard/` is a 404.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../dashboard/index.html"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../dashboard/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../dashboard/app.js"),
    },
    Asset {
        name: "api.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../dashboard/api.js"),
    },
    Asset {
        name: "events.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../dashboard/events.js"),
    },
    Asset {
        name: "charts.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../dashboard/charts.js"),
    },
    Asset {
        name: "schematic.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../dashboard/schematic.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../dashboard/favicon.svg"),
    },
];

/// Scripts, styles and images come from this origin only; the API and the event socket too.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Routes of the dashboard (not in the OpenAPI document: they serve no JSON).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/dashboard", get(index))
        .route("/dashboard/", get(index))
        .route("/dashboard/{file}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve(&ASSETS[0], &headers, 0)
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => serve(&ASSETS[i], &headers, i),
        None => ApiError::RouteNotFound.into_response(),
    }
}

/// Strong validator of each file, computed once: browsers revalidate (`no-cache`) and get a
/// 304 while the binary is the same, and the new files right after an upgrade.
fn etag(index: usize) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..32]))
            .collect()
    });
    &tags[index]
}

fn serve(asset: &Asset, request: &HeaderMap, index: usize) -> Response {
    let tag = etag(index);
    let fresh = request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut headers = HeaderMap::new();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(tag) {
        headers.insert(ETAG, value);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if asset.name == "index.html" {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        );
    }
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    (headers, asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_present_and_named_once() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.body.is_empty(), "{} is empty", a.name);
            assert!(
                ASSETS[i + 1..].iter().all(|b| b.name != a.name),
                "{} twice",
                a.name
            );
            assert!(etag(i).starts_with('"') && etag(i).len() == 34);
        }
        assert_eq!(ASSETS[0].name, "index.html");
    }

    #[test]
    fn the_page_loads_only_files_that_are_served() {
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        for part in html.split("/dashboard/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                .collect();
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "index.html refers to {name}, which is not served"
            );
        }
        // Modules import each other relatively: each import must be served too.
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let js = std::str::from_utf8(a.body).unwrap();
            for part in js.split("from \"./").skip(1) {
                let name: String = part.chars().take_while(|c| *c != '"').collect();
                assert!(
                    ASSETS.iter().any(|b| b.name == name),
                    "{} imports {name}, which is not served",
                    a.name
                );
            }
        }
    }
}
