//! `control-plane` binary: `serve` (the default) runs the API, `migrate` applies the database
//! migrations and exits (a deploy step), `token` prints a signed tenant or operator token.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgGroup, Args, Parser, Subcommand};
use control_plane::auth::{JwtKeys, parse_ttl, validate_tenant_id};
use control_plane::config::{self, Config};
use control_plane::startup::Application;

#[derive(Parser)]
#[command(name = "control-plane", version, about = "Stream Manager's API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default); applies pending migrations first unless
    /// MIGRATE_ON_START=false.
    Serve,
    /// Apply the database migrations (DATABASE_URL) and exit.
    Migrate,
    /// Print a token signed with JWT_SECRET.
    Token(TokenArgs),
}

#[derive(Args)]
#[group(skip)]
#[command(group(ArgGroup::new("subject").required(true).args(["tenant", "operator"])))]
struct TokenArgs {
    /// A tenant's token (`sub` is the tenant id).
    #[arg(long, value_name = "ID", value_parser = subject)]
    tenant: Option<String>,
    /// A fleet operator's token (sees `GET /nodes`, no tenant data).
    #[arg(long, value_name = "NAME", value_parser = subject)]
    operator: Option<String>,
    /// How long the token is valid: 90s, 30m, 1h, 7d.
    #[arg(long, value_name = "TTL", default_value = "1h", value_parser = parse_ttl)]
    ttl: Duration,
}

fn subject(s: &str) -> Result<String, String> {
    validate_tenant_id(s).map(|()| s.to_owned())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Migrate => migrate(),
        Command::Token(args) => token(args),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn serve() -> anyhow::Result<()> {
    shared::telemetry::init("control-plane", &control_plane::startup::LOG_TABLE);
    let config = Config::from_env()?;
    let runtime = runtime()?;
    let served = runtime.block_on(async {
        let token = shared::shutdown::on_signal();
        let app = Application::build(config).await?;
        app.run_until_stopped(token).await
    });
    // After SIGTERM's drain: the spans of the last requests go out before we exit.
    shared::telemetry::shutdown();
    served
}

fn migrate() -> anyhow::Result<()> {
    shared::telemetry::init("control-plane", &control_plane::startup::LOG_TABLE);
    let url = config::database_url();
    let applied = runtime()?.block_on(async {
        let db = control_plane::startup::connect_postgres(&url, 1).await?;
        let applied = control_plane::migrate::apply(&db).await?;
        db.close().await;
        anyhow::Ok(applied)
    });
    if let Ok(n) = &applied {
        tracing::info!(applied = n, "database schema up to date");
    }
    shared::telemetry::shutdown();
    applied.map(drop)
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
    let secret = shared::env::required("JWT_SECRET")?;
    let audience = shared::env::or("JWT_AUDIENCE", "stream-manager");
    let keys = JwtKeys::new(secret.as_bytes(), &audience);
    let token = match (args.tenant, args.operator) {
        (Some(tenant), _) => keys.issue(&tenant, args.ttl)?,
        (None, Some(name)) => keys.issue_operator(&name, args.ttl)?,
        (None, None) => anyhow::bail!("give --tenant or --operator"),
    };
    writeln!(std::io::stdout(), "{token}")?;
    Ok(())
}
