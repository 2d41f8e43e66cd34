//! The database schema against the migrations built into this binary: applying them, and
//! refusing to run on a schema this binary does not understand.
//!
//! Migrations are a deploy step: `control-plane migrate` applies them and exits, before the
//! service's tasks are replaced. `serve` applies them too by default (a single process, a
//! local stack), or with `MIGRATE_ON_START=false` only checks that none is pending. Either
//! way a database holding a migration the binary does not know — a newer schema, left by a
//! newer release — stops the start with an error that says so, rather than letting an old
//! binary write to a schema it was not built for. Schema changes are made expand/contract
//! (see the README), so the release before a migration keeps working after it.

use sqlx::PgPool;
use sqlx::migrate::{MigrateError, Migration, Migrator};

/// The migrations in `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Why the schema does not fit this binary.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database schema is newer than this control plane: it has migration {version} \
         ({description}), which this binary does not know. Run a control plane built with that \
         migration or later; an older binary must not serve a newer schema"
    )]
    Newer { version: i64, description: String },
    #[error(
        "migration {version} ({description}) is not applied and MIGRATE_ON_START is false: \
         run `control-plane migrate` first"
    )]
    Pending { version: i64, description: String },
    #[error(
        "migration {version} failed part-way in an earlier run: the database needs repair by \
         hand before any control plane can use it"
    )]
    Dirty { version: i64 },
    #[error(
        "migration {version} was changed after it was applied: applied migrations are never \
         edited, schema changes go in a new one"
    )]
    Changed { version: i64 },
    #[error("cannot read the applied migrations: {0}")]
    Read(#[from] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Apply(#[from] MigrateError),
}

/// A migration as the database recorded it.
#[derive(sqlx::FromRow)]
struct Applied {
    version: i64,
    description: String,
    success: bool,
    checksum: Vec<u8>,
}

/// The migrations the database recorded, oldest first (none on a fresh database).
async fn applied(db: &PgPool) -> Result<Vec<Applied>, sqlx::Error> {
    let recorded: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(db)
        .await?;
    if !recorded {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(db)
    .await
}

fn known() -> impl Iterator<Item = &'static Migration> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
}

/// Checks the database against this binary's migrations and returns the ones not applied
/// yet; an error when the schema has one this binary does not know, or an applied one is
/// broken or was edited.
pub async fn check(db: &PgPool) -> Result<Vec<&'static Migration>, SchemaError> {
    let applied = applied(db).await?;
    for a in &applied {
        let Some(m) = known().find(|m| m.version == a.version) else {
            return Err(SchemaError::Newer {
                version: a.version,
                description: a.description.clone(),
            });
        };
        if !a.success {
            return Err(SchemaError::Dirty { version: a.version });
        }
        if *m.checksum != *a.checksum {
            return Err(SchemaError::Changed { version: a.version });
        }
    }
    Ok(known()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .collect())
}

/// Applies the pending migrations (several replicas may race here: sqlx serializes them on
/// an advisory lock). Returns how many were pending.
pub async fn apply(db: &PgPool) -> Result<usize, SchemaError> {
    let pending = check(db).await?;
    MIGRATOR.run(db).await?;
    for m in &pending {
        tracing::info!(version = m.version, description = %m.description, "migration applied");
    }
    Ok(pending.len())
}

/// What `serve` does at start: applies pending migrations when `migrate` is set, else only
/// checks that none is pending. Refuses a schema newer than this binary either way.
pub async fn on_start(db: &PgPool, migrate: bool) -> Result<(), SchemaError> {
    if migrate {
        apply(db).await?;
        return Ok(());
    }
    match check(db).await?.first() {
        Some(m) => Err(SchemaError::Pending {
            version: m.version,
            description: m.description.to_string(),
        }),
        None => Ok(()),
    }
}
