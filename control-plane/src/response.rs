//! The success half of the envelope: `{"success": true, "data": ...}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// A successful answer wrapping `data`.
#[derive(Serialize)]
pub struct Envelope<T> {
    pub success: bool,
    pub data: T,
}

/// A handler's result: data in the envelope, or an [`ApiError`].
pub type ApiResult<T> = Result<Envelope<T>, ApiError>;

/// Wraps `data` in a success envelope.
pub fn ok<T: Serialize>(data: T) -> ApiResult<T> {
    Ok(Envelope {
        success: true,
        data,
    })
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// A success envelope answered with 201 Created.
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (
            StatusCode::CREATED,
            Json(Envelope {
                success: true,
                data: self.0,
            }),
        )
            .into_response()
    }
}
