//! `render-node` binary entry point.

fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    tracing::error!("the render node is not built yet");
    anyhow::bail!("the render node is not built yet")
}
