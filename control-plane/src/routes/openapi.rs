//! `GET /openapi.json`, generated from the handlers' annotations.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, Required, Type};
use utoipa::{Modify, OpenApi as _};

use crate::state::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Stream Manager",
        description = "Live video production in the cloud. Paths under `/stream` act on the \
            tenant's default stream; the same paths under `/streams/{streamId}` act on any of \
            the tenant's streams. Every response is `{success, data}` or `{success, error}`."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(crate::error::ErrorEnvelope, crate::error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document's fixed parts, before the routes add their paths.
pub fn base() -> OpenApi {
    ApiDoc::openapi()
}

/// Declares the `streamId` parameter on every path nested under `/streams/{streamId}`:
/// the handlers are shared with `/stream`, so their annotations cannot declare it.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/streams/{streamId}") {
            continue;
        }
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            let params = op.parameters.get_or_insert_with(Vec::new);
            if params.iter().any(|p| p.name == "streamId") {
                continue;
            }
            params.insert(
                0,
                ParameterBuilder::new()
                    .name("streamId")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(Type::String)
                            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                utoipa::openapi::KnownFormat::Uuid,
                            ))),
                    ))
                    .build(),
            );
        }
    }
    doc
}

/// Serves the document.
pub fn router(doc: OpenApi) -> axum::Router<AppState> {
    Router::new().route("/openapi.json", get(move || async move { Json(doc) }))
}
