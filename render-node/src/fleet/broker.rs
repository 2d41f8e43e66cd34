//! The node's AMQP link: one connection with a channel polling the shared jobs queue and a
//! consumer on the node's own command queue.
//!
//! Start jobs are taken with `basic.get`, one at a time and only while the node has a free
//! slot and CPU headroom: a node never holds a job it cannot run, so the jobs queue is the
//! fleet's backpressure and a full fleet simply leaves starts queued. Updates and stops come
//! pushed on the node's queue (prefetch bounded) since they must be applied at once.

use futures_util::StreamExt;
use lapin::message::{BasicGetMessage, Delivery};
use lapin::options::{BasicConsumeOptions, BasicGetOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, Consumer};
use shared::amqp::{self, AmqpError};
use shared::messages::{CommandEnvelope, MESSAGE_VERSION, Topology};
use tracing::Span;

/// Unacknowledged node commands the broker may push at once.
const NODE_PREFETCH: u16 = 32;

/// A live link to the broker.
pub struct Link {
    // Kept so the connection outlives its channels.
    _conn: Connection,
    jobs: Channel,
    jobs_queue: String,
    node_commands: Consumer,
}

/// Why a message could not be read as a command.
#[derive(Debug, thiserror::Error)]
pub enum BadCommand {
    #[error("not a command: {0}")]
    Unreadable(String),
    #[error("message version {0} is not one this node speaks ({MESSAGE_VERSION})")]
    Version(u32),
}

/// Reads a message body as a command of our message version.
pub fn parse(body: &[u8]) -> Result<CommandEnvelope, BadCommand> {
    let env: CommandEnvelope =
        serde_json::from_slice(body).map_err(|e| BadCommand::Unreadable(e.to_string()))?;
    if env.message_version != MESSAGE_VERSION {
        return Err(BadCommand::Version(env.message_version));
    }
    Ok(env)
}

/// The span handling a start job: a child of the control plane's publish (and so of the API
/// request that started the stream) when the message carries a trace context.
pub fn job_span(props: &BasicProperties) -> Span {
    continue_trace(
        tracing::info_span!("job", stream_id = tracing::field::Empty),
        props,
    )
}

/// The span handling an update or stop sent to this node, continuing its sender's trace.
pub fn command_span(props: &BasicProperties) -> Span {
    continue_trace(
        tracing::info_span!("command", stream_id = tracing::field::Empty),
        props,
    )
}

fn continue_trace(span: Span, props: &BasicProperties) -> Span {
    if let Some(parent) = amqp::trace_context(props.headers().as_ref()) {
        parent.adopt(&span);
    }
    span
}

impl Link {
    /// Connects, declares the topology and the node's queue, and starts consuming it.
    pub async fn connect(url: &str, topo: &Topology, node_id: &str) -> Result<Self, AmqpError> {
        let conn = amqp::connect(url, &format!("render-node {node_id}")).await?;
        let jobs = conn.create_channel().await?;
        amqp::declare_topology(&jobs, topo).await?;
        let node_channel = conn.create_channel().await?;
        let queue = amqp::declare_node_queue(&node_channel, topo, node_id).await?;
        node_channel
            .basic_qos(NODE_PREFETCH, BasicQosOptions::default())
            .await?;
        let node_commands = node_channel
            .basic_consume(
                queue.as_str().into(),
                format!("render-node-{node_id}").as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(Link {
            _conn: conn,
            jobs,
            jobs_queue: topo.jobs_queue(),
            node_commands,
        })
    }

    /// Takes one start job if there is one (to be acked after the claim).
    pub async fn take_job(&self) -> Result<Option<BasicGetMessage>, AmqpError> {
        Ok(self
            .jobs
            .basic_get(
                self.jobs_queue.as_str().into(),
                BasicGetOptions { no_ack: false },
            )
            .await?)
    }

    /// The next command for this node; `None` when the consumer ended (connection lost).
    pub async fn next_command(&mut self) -> Option<Result<Delivery, AmqpError>> {
        self.node_commands
            .next()
            .await
            .map(|r| r.map_err(AmqpError::from))
    }
}
