//! `GET /openapi.json`, generated from the handlers' annotations.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr, Required, Type};
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

/// Errors any operation can answer, documented on every operation (all use the envelope).
const COMMON_ERRORS: &[(&str, &str)] = &[
    ("400", "malformed JSON"),
    ("401", "missing or invalid token"),
    ("404", "unknown id, or another tenant's"),
    ("405", "method not allowed"),
    ("409", "conflicts with the resource's state"),
    ("413", "body too large"),
    ("415", "body is not JSON"),
    ("422", "invalid values; `field` names the first"),
    ("429", "over the request or upload rate; see `Retry-After`"),
    ("500", "internal error"),
    ("503", "a dependency is unavailable"),
];

/// Puts a success schema inside the `{success: true, data}` envelope the API answers with.
fn wrap_in_envelope(schema: RefOr<Schema>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .property("success", ObjectBuilder::new().schema_type(Type::Boolean))
        .required("success")
        .property("data", schema)
        .required("data")
        .into()
}

/// Completes the generated document: success bodies wrapped in the envelope, the common
/// error answers on every operation, and the `streamId` parameter on every path nested
/// under `/streams/{streamId}` (the handlers are shared with `/stream`, so their
/// annotations cannot declare it).
pub fn finish(mut doc: OpenApi) -> OpenApi {
    for (path, item) in doc.paths.paths.iter_mut() {
        let nested = path.starts_with("/streams/{streamId}");
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if !status.starts_with('2') {
                    continue;
                }
                if let Some(json) = response.content.get_mut("application/json")
                    && let Some(schema) = json.schema.take()
                {
                    json.schema = Some(wrap_in_envelope(schema));
                }
            }
            for (status, description) in COMMON_ERRORS {
                op.responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(*description)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                                        .build(),
                                )
                                .build(),
                        )
                    });
            }
            if !nested {
                continue;
            }
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
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String).format(
                        Some(utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Uuid,
                        )),
                    )))
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
