//! JSON request bodies, parsed in one place so every endpoint answers bad input alike:
//! malformed JSON is a 400, a body over the limit a 413, a body that is not JSON a 415, and
//! a well-formed body with a wrong type or value a 422 whose `field` is the JSON path of the
//! offending value (`source.fontSize`, `outputs[1]`).
//!
//! The path comes from `serde_path_to_error` as the value is read, never from an error
//! message's text, so it does not depend on how serde or axum word their errors.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body of type `T`, or the error envelope that says what is wrong with it.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected a body with Content-Type: application/json".into(),
            ));
        }
        // Reading the body enforces the router's `DefaultBodyLimit`.
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: state.config.max_body_bytes,
                }
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// `application/json`, or any `application/…+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// Parses a whole body as `T` (for bodies read by hand, such as optional ones).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(rejection)?;
    // Anything after the document is as malformed as a broken document.
    de.end().map_err(malformed)?;
    Ok(value)
}

/// Reads an already parsed document as `T` (for documents merged before checking, such as
/// a config patch over the current config).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(rejection)
}

fn malformed(e: serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("malformed JSON: {e}"))
}

/// A syntax error is the client's JSON; anything else is a value we refuse, at its path.
fn rejection(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => malformed(inner),
        Category::Data => {
            let message = strip_position(&inner.to_string());
            ApiError::invalid(field_of(&path, &message), message)
        }
    }
}

/// The JSON path a data error is about. serde reports a missing or unknown field on the
/// object that holds it, so the field's own name is appended to that object's path.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        // Some errors are already reported at the field itself.
        (path, Some(name)) if path != name && !path.ends_with(&format!(".{name}")) => {
            format!("{path}.{name}")
        }
        (path, _) => path.to_owned(),
    }
}

/// Drops serde's ` at line L column C` suffix, meaningless to an API client.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)] // read only to be refused
    struct Body {
        name: String,
        source: Source,
        #[serde(default)]
        outputs: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Source {
        font_size: u16,
        #[serde(default)]
        color: Option<String>,
    }

    fn field(json: &str) -> String {
        match parse::<Body>(json.as_bytes()) {
            Err(ApiError::Invalid(e)) => e.field,
            other => panic!("expected a 422 for {json}: {other:?}"),
        }
    }

    #[test]
    fn a_wrong_value_is_named_by_its_json_path() {
        assert_eq!(
            field(r#"{"name": "a", "source": {"fontSize": "big"}}"#),
            "source.fontSize"
        );
        assert_eq!(
            field(r#"{"name": "a", "source": {"fontSize": 70000}}"#),
            "source.fontSize"
        );
        assert_eq!(
            field(r#"{"name": "a", "source": {"fontSize": 1}, "outputs": ["x", 2]}"#),
            "outputs[1]"
        );
        assert_eq!(field(r#"{"name": 1, "source": {"fontSize": 1}}"#), "name");
    }

    #[test]
    fn missing_and_unknown_fields_are_named_where_they_belong() {
        assert_eq!(field(r#"{"source": {"fontSize": 1}}"#), "name");
        assert_eq!(field(r#"{"name": "a", "source": {}}"#), "source.fontSize");
        assert_eq!(
            field(r#"{"name": "a", "source": {"fontSize": 1}, "extra": 1}"#),
            "extra"
        );
        assert_eq!(
            field(r#"{"name": "a", "source": {"fontSize": 1, "colour": "red"}}"#),
            "source.colour"
        );
        assert_eq!(field("[]"), "body");
    }

    #[test]
    fn broken_documents_are_bad_requests() {
        for body in ["{\"name\": ", "not json", "", "{} {}", "{}x"] {
            assert!(
                matches!(
                    parse::<serde_json::Value>(body.as_bytes()),
                    Err(ApiError::BadRequest(_))
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn json_content_types_are_recognised() {
        let is = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            is_json(&h)
        };
        assert!(is("application/json"));
        assert!(is("application/json; charset=utf-8"));
        assert!(is("application/merge-patch+json"));
        assert!(!is("text/plain"));
        assert!(!is("application/jsonx"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
