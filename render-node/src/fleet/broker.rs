//! The node's AMQP link: one connection with a consumer on the shared jobs queue and one on
//! the node's own command queue.
//!
//! Start jobs are pushed with a prefetch equal to the jobs the node has room for (its free
//! slots while admission lets it take jobs, plus those it holds unacknowledged): a node never
//! holds a job it cannot run, so the jobs queue is the fleet's backpressure and a full fleet
//! simply leaves starts queued — and an idle fleet sends the broker nothing, where polling
//! with `basic.get` cost every node ten round trips a second. The prefetch of a consumer is
//! fixed when it starts, so a change of room cancels the consumer and starts another; jobs
//! the broker had already pushed to the old one are handed back to the caller, not lost.
//! Updates and stops come pushed on the node's queue (prefetch bounded) since they must be
//! applied at once.

use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
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
    /// The jobs consumer, absent while the node has no room.
    job_consumer: Option<Consumer>,
    /// Its prefetch: how many jobs the broker may push unacknowledged.
    prefetch: u16,
    /// Numbers the consumer tags, so a replaced consumer's tag is never reused.
    generation: u64,
    node_id: String,
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
            job_consumer: None,
            prefetch: 0,
            generation: 0,
            node_id: node_id.to_owned(),
            node_commands,
        })
    }

    /// The jobs the broker may push unacknowledged now.
    pub fn prefetch(&self) -> u16 {
        self.prefetch
    }

    /// Lets the broker push up to `n` unacknowledged jobs (0: none, no consumer). Returns the
    /// jobs the replaced consumer had already received: the caller runs them like any other
    /// (they were pushed within the room the node had), so none stays unacknowledged.
    pub async fn set_prefetch(&mut self, n: u16) -> Result<Vec<Delivery>, AmqpError> {
        if n == self.prefetch {
            return Ok(Vec::new());
        }
        let mut pushed = Vec::new();
        if let Some(mut old) = self.job_consumer.take() {
            self.prefetch = 0;
            self.jobs
                .basic_cancel(old.tag(), BasicCancelOptions::default())
                .await?;
            // After cancel-ok nothing more arrives: what is buffered is all there is.
            while let Some(Some(d)) = old.next().now_or_never() {
                pushed.push(d?);
            }
        }
        if n > 0 {
            self.jobs.basic_qos(n, BasicQosOptions::default()).await?;
            self.generation += 1;
            let tag = format!("render-node-{}-jobs-{}", self.node_id, self.generation);
            let consumer = self
                .jobs
                .basic_consume(
                    self.jobs_queue.as_str().into(),
                    tag.as_str().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            self.job_consumer = Some(consumer);
        }
        self.prefetch = n;
        Ok(pushed)
    }
}

/// What the broker pushed.
pub enum Incoming {
    /// A start job from the shared queue.
    Job(Delivery),
    /// An update or stop from the node's own queue.
    Command(Delivery),
}

/// Why the link is no longer usable (the caller reconnects).
#[derive(Debug, thiserror::Error)]
pub enum Lost {
    #[error("{0} consumer failed: {1}")]
    Failed(&'static str, AmqpError),
    #[error("{0} consumer ended")]
    Ended(&'static str),
}

impl Link {
    /// The next job or command.
    pub async fn next(&mut self) -> Result<Incoming, Lost> {
        tokio::select! {
            c = next_delivery(Some(&mut self.node_commands)) => match c {
                Some(Ok(d)) => Ok(Incoming::Command(d)),
                Some(Err(e)) => Err(Lost::Failed("command", e)),
                None => Err(Lost::Ended("command")),
            },
            j = next_delivery(self.job_consumer.as_mut()) => match j {
                Some(Ok(d)) => Ok(Incoming::Job(d)),
                Some(Err(e)) => Err(Lost::Failed("jobs", e)),
                None => Err(Lost::Ended("jobs")),
            },
        }
    }
}

/// The next delivery of `consumer`; never resolves without one. `None` when it ended
/// (connection lost, or the broker cancelled it: a queue deleted or its node gone).
async fn next_delivery(consumer: Option<&mut Consumer>) -> Option<Result<Delivery, AmqpError>> {
    match consumer {
        Some(c) => c.next().await.map(|r| r.map_err(AmqpError::from)),
        None => std::future::pending().await,
    }
}
