//! The one error type handlers return, and its mapping to the HTTP error envelope.
//!
//! Every variant is an HTTP outcome. Database and unexpected errors are logged with their
//! cause chain and answered as a plain 500 (or 503 when a dependency is down): their text may
//! hold internals a tenant must not see.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shared::FieldError;

/// How long a client told "busy" should wait: bounded work drains within about a second.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// What went wrong, as the client will be told.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this route does not exist")]
    RouteNotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Invalid(FieldError),
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// The tenant spent its request or upload budget; 429 with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The work is bounded for everyone's sake and all slots are taken: 503 with
    /// `Retry-After`.
    #[error("{0} is busy; retry shortly")]
    Busy(&'static str),
    /// A tenant quota (`QUOTA_*`) is reached.
    #[error("{message}")]
    QuotaExceeded {
        quota: &'static str,
        message: String,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The error half of the envelope: `{"success": false, "error": {code, message}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub success: bool,
    pub error: ErrorBody,
}

/// A machine-readable code and a sentence for humans.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// The offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// A 409 with a specific code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A 422 naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(FieldError::new(field, message))
    }

    /// A quota refusal naming the quota and the limit.
    pub fn quota(quota: &'static str, limit: u64, what: &str) -> Self {
        ApiError::QuotaExceeded {
            quota,
            message: format!("a tenant may have at most {limit} {what} ({quota})"),
        }
    }

    /// Seconds a client should wait before retrying, when the answer says so.
    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::Busy(_) => Some(BUSY_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::QuotaExceeded { .. } => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound(_) | ApiError::RouteNotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Invalid(_) => "invalid_value",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Busy(_) => "busy",
            ApiError::QuotaExceeded { .. } => "quota_exceeded",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::error!(error = %e, "postgres unavailable");
                ApiError::Unavailable("the database")
            }
            _ => ApiError::Internal(e.into()),
        }
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> Self {
        tracing::error!(error = %e, "redis unavailable");
        ApiError::Unavailable("the live-state store")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let field = match &self {
            ApiError::Invalid(f) => Some(f.field.clone()),
            ApiError::QuotaExceeded { quota, .. } => Some((*quota).to_owned()),
            _ => None,
        };
        let body = ErrorEnvelope {
            success: false,
            error: ErrorBody {
                code: self.code().to_owned(),
                message: self.to_string(),
                field,
            },
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}
