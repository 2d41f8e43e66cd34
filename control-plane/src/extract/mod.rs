//! Request extractors that speak our error envelope: a handler names what it needs in its
//! arguments and gets it checked, or the request is answered with the right error.
//!
//! - [`json`]: JSON bodies, parsed in one place (`serde_path_to_error`): 400 malformed,
//!   413 too large, 415 not JSON, 422 naming the offending field as a JSON path.
//! - [`auth`]: the tenant or fleet operator a bearer token speaks for.
//! - [`node`]: a render node on the internal API, by the shared node secret.
//! - [`path`]: ids in the path, typed; a malformed id is a 404.
//! - [`stream`]: the tenant and the stream a `/stream/…` or `/streams/{streamId}/…` request
//!   is about.

pub mod auth;
pub mod json;
pub mod node;
pub mod path;
pub mod stream;

pub use auth::{Operator, Tenant, TokenExpiry};
pub use json::ApiJson;
pub use node::Node;
pub use path::PathIds;
pub use stream::TenantStream;
