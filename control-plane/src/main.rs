//! `control-plane` binary: `control-plane` serves the API; `control-plane token --tenant ID
//! [--ttl 1h]` prints a tenant token signed with `JWT_SECRET`.

use std::io::Write;

use anyhow::{Context, bail};
use control_plane::auth::{JwtKeys, parse_ttl, validate_tenant_id};
use control_plane::config::Config;
use control_plane::startup::Application;

const USAGE: &str =
    "usage: control-plane [serve] | control-plane token (--tenant ID | --operator NAME) [--ttl 1h]";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve(),
        Some("token") => token(&args[1..]),
        Some("-h" | "--help" | "help") => {
            writeln!(std::io::stdout(), "{USAGE}")?;
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

fn serve() -> anyhow::Result<()> {
    shared::telemetry::init("control-plane", &control_plane::startup::LOG_TABLE);
    let config = Config::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(async {
        let token = shared::shutdown::on_signal();
        let app = Application::build(config).await?;
        app.run_until_stopped(token).await
    });
    // After SIGTERM's drain: the spans of the last requests go out before we exit.
    shared::telemetry::shutdown();
    served
}

fn token(args: &[String]) -> anyhow::Result<()> {
    let mut tenant = None;
    let mut operator = None;
    let mut ttl = "1h".to_owned();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--tenant" => tenant = Some(value.clone()),
            "--operator" => operator = Some(value.clone()),
            "--ttl" => ttl = value.clone(),
            _ => bail!("unknown flag {flag:?}\n{USAGE}"),
        }
    }
    let ttl = parse_ttl(&ttl).map_err(anyhow::Error::msg)?;
    let secret = shared::env::required("JWT_SECRET")?;
    let audience = shared::env::or("JWT_AUDIENCE", "stream-manager");
    let keys = JwtKeys::new(secret.as_bytes(), &audience);
    let token = match (tenant, operator) {
        (Some(tenant), None) => {
            validate_tenant_id(&tenant).map_err(anyhow::Error::msg)?;
            keys.issue(&tenant, ttl)?
        }
        (None, Some(name)) => {
            validate_tenant_id(&name).map_err(anyhow::Error::msg)?;
            keys.issue_operator(&name, ttl)?
        }
        _ => bail!("give exactly one of --tenant and --operator\n{USAGE}"),
    };
    writeln!(std::io::stdout(), "{token}")?;
    Ok(())
}
