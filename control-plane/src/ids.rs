//! Typed ids: a stream id, a layer id and a scene id are all UUIDs, and the database layer's
//! functions take several of them side by side; one type each makes a swapped pair a
//! compile error instead of a query that finds nothing.
//!
//! They travel as plain UUID strings (serde and OpenAPI see a `uuid`) and bind as Postgres
//! `uuid`s (`#[sqlx(transparent)]`). The wire types in `shared` keep bare `Uuid`s — the render
//! node has no database to mix ids up in — so ids are converted where a row becomes a wire
//! type, with `From` both ways.

use std::borrow::Cow;
use std::fmt;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use uuid::Uuid;

/// Declares a UUID newtype with the conversions, formatting, serde, sqlx and OpenAPI support
/// every id needs.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The UUID inside, for the wire types that carry bare UUIDs.
            pub fn get(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                uuid_schema()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

/// A string in UUID format, as every id appears in the OpenAPI document.
fn uuid_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .into()
}

uuid_id!(
    /// A stream (`streams.id`).
    StreamId
);
uuid_id!(
    /// A layer of a stream's scenes (`layers.id`).
    LayerId
);
uuid_id!(
    /// A scene of a stream (`scenes.id`).
    SceneId
);
uuid_id!(
    /// A stream key (`stream_keys.id`); never the key's secret value.
    KeyId
);
uuid_id!(
    /// An uploaded image (`assets.id`).
    AssetId
);
uuid_id!(
    /// A tenant's webhook (`webhooks.id`).
    WebhookId
);
uuid_id!(
    /// One event on its way to one webhook (`webhook_deliveries.id`).
    DeliveryId
);

/// A render node, by the name it gives in `X-Node-Id` (a host name by default): the holder
/// of a stream's lease (`streams.node_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct NodeId(String);

impl NodeId {
    /// The node's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for NodeId {
    fn from(name: String) -> Self {
        NodeId(name)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for NodeId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_travel_as_bare_uuids() {
        let id = StreamId::random();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", id.get()));
        assert_eq!(serde_json::from_str::<StreamId>(&json).unwrap(), id);
        assert_eq!(id.to_string(), id.get().to_string());
    }
}
