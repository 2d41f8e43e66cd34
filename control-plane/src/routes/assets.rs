//! `/assets`: image uploads, validated by decoding, stored once per content.

use std::io::Cursor;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use image::{ImageFormat, ImageReader, Limits};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::assets::{self, AssetRow, NewAsset};
use crate::db::unix_ms;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{PathIds, TenantStream};
use crate::ids::AssetId;
use crate::limits::quotas::reserve_asset;
use crate::response::{ApiResult, Created, ok};
use crate::state::AppState;

/// Largest width or height we decode: bigger images are refused from their header, before
/// anything is allocated. 4096 holds UHD (3840) and DCI 4K (4096) frames; no canvas is
/// larger, so a bigger image would only be scaled down on the node.
pub const MAX_DIMENSION: u32 = 4096;
/// Memory the decoder may allocate for one image: 48 MiB holds a 4096×2160 RGBA8 frame
/// (34 MiB) and a 16-bit RGB UHD one (47 MiB), and refuses a 4096² RGBA frame (64 MiB).
/// With `DECODE_CONCURRENCY` decodes at once this bounds what uploads can allocate (2 × 48
/// MiB by default) where one 8192² bomb of 261 KB used to take 256 MiB.
pub const MAX_DECODE_ALLOC: u64 = 48 * 1024 * 1024;

/// Routes of this resource.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(get_asset))
        .routes(routes!(get_content))
        // Uploads get their own, larger cap; the request's body limit is set per route.
        .layer(DefaultBodyLimit::disable())
}

/// An asset's metadata.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetView {
    id: AssetId,
    sha256: String,
    content_type: String,
    width: i32,
    height: i32,
    size: i32,
    created_at: i64,
}

impl From<AssetRow> for AssetView {
    fn from(a: AssetRow) -> Self {
        AssetView {
            id: a.id,
            sha256: a.sha256,
            content_type: a.content_type,
            width: a.width,
            height: a.height,
            size: a.byte_size,
            created_at: unix_ms(a.created_at),
        }
    }
}

/// A decoded image: its format's MIME type and size.
struct Decoded {
    content_type: &'static str,
    width: u32,
    height: u32,
}

/// Why an upload is not an image we accept.
fn decode(bytes: &[u8]) -> Result<Decoded, ApiError> {
    let format = image::guess_format(bytes)
        .map_err(|_| ApiError::invalid("body", "is not a PNG, JPEG or WebP image"))?;
    let content_type = match format {
        ImageFormat::Png => "image/png",
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::WebP => "image/webp",
        other => {
            return Err(ApiError::invalid(
                "body",
                format!("{other:?} images are not accepted; use PNG, JPEG or WebP"),
            ));
        }
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    // Decoding the whole image (not just its header) proves the file is not truncated.
    let image = reader
        .decode()
        .map_err(|e| ApiError::invalid("body", format!("cannot be decoded: {e}")))?;
    Ok(Decoded {
        content_type,
        width: image.width(),
        height: image.height(),
    })
}

/// Uploads an image (the raw bytes as the body). The same bytes uploaded again return the
/// existing asset.
#[utoipa::path(post, path = "/assets", tag = "assets",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
                 description = "a PNG, JPEG or WebP file"),
    responses((status = 201, body = AssetView), (status = 409, body = ErrorEnvelope),
              (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn upload(
    State(state): State<AppState>,
    ctx: TenantStream,
    body: axum::body::Body,
) -> Result<Created<AssetView>, ApiError> {
    crate::limits::rate::spend(&state, &ctx.tenant, state.config.quotas.uploads()).await?;
    let limit = state.config.max_asset_bytes;
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit })?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("body", "is empty; send the image bytes"));
    }
    let decoded = {
        let slot = state.decode.acquire().await?;
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || {
            let decoded = decode(&bytes);
            drop(slot);
            decoded
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))??
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let _gate = state.gates.enter(&ctx.tenant).await;
    let mut tx = state.db.begin().await?;
    // Under the tenant's lock, so the same new bytes uploaded twice at once are stored once.
    crate::db::usage::lock_tenant(&mut tx, &ctx.tenant).await?;
    let row = match assets::find_by_sha256(&mut *tx, &ctx.tenant, &sha256).await? {
        Some(existing) => existing,
        None => {
            let quotas = &state.config.quotas;
            reserve_asset(&mut tx, quotas, &ctx.tenant, bytes.len() as u64).await?;
            let new = NewAsset {
                sha256: &sha256,
                content_type: decoded.content_type,
                width: decoded.width as i32,
                height: decoded.height as i32,
                bytes: &bytes,
            };
            assets::insert(&mut *tx, &ctx.tenant, &new).await?
        }
    };
    tx.commit().await?;
    tracing::info!(tenant = %ctx.tenant, asset_id = %row.id, size = bytes.len(), "asset stored");
    Ok(Created(AssetView::from(row)))
}

/// An asset's metadata.
#[utoipa::path(get, path = "/assets/{id}", tag = "assets", params(("id" = Uuid, Path)),
    responses((status = 200, body = AssetView), (status = 404, body = ErrorEnvelope)))]
async fn get_asset(
    State(state): State<AppState>,
    ctx: TenantStream,
    ids: PathIds,
) -> ApiResult<AssetView> {
    let id: AssetId = ids.id("id", "asset")?;
    let row = assets::find(&state.db, &ctx.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("asset"))?;
    ok(AssetView::from(row))
}

/// An asset's bytes, with its content type.
#[utoipa::path(get, path = "/assets/{id}/content", tag = "assets", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "image/*", body = Vec<u8>),
              (status = 404, body = ErrorEnvelope)))]
async fn get_content(
    State(state): State<AppState>,
    ctx: TenantStream,
    ids: PathIds,
) -> Result<impl IntoResponse, ApiError> {
    let id: AssetId = ids.id("id", "asset")?;
    let (content_type, bytes) = assets::content(&state.db, &ctx.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("asset"))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            // Content-addressed: an id's bytes never change.
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
        ],
        bytes,
    ))
}
