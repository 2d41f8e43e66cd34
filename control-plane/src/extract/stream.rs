//! The stream a tenant's request is about.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::db::streams::{self, StreamRow};
use crate::error::ApiError;
use crate::extract::{PathIds, Tenant};
use crate::ids::StreamId;
use crate::state::AppState;
use crate::streams::ensure_default_stream;

/// The authenticated tenant and the stream the path names: `/streams/{streamId}/…` or, for
/// `/stream/…`, the tenant's default stream (created on first use). The row is as read when
/// the request arrived; a change locks it again through `dispatch::write::StreamWrite`.
pub struct TenantStream {
    pub tenant: String,
    pub stream: StreamRow,
}

impl FromRequestParts<AppState> for TenantStream {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Tenant(tenant) = Tenant::from_request_parts(parts, state).await?;
        let ids = PathIds::from_request_parts(parts, state).await.ok();
        let stream = match ids.as_ref().filter(|ids| ids.has("streamId")) {
            Some(ids) => {
                let id: StreamId = ids.id("streamId", "stream")?;
                streams::find(&state.db, &tenant, id)
                    .await?
                    .ok_or(ApiError::NotFound("stream"))?
            }
            None => ensure_default_stream(state, &tenant).await?,
        };
        tracing::Span::current().record("stream_id", tracing::field::display(stream.id));
        Ok(TenantStream { tenant, stream })
    }
}
