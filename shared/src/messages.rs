//! Commands the control plane sends render nodes over AMQP, and the names they travel under.
//!
//! Start jobs go to one shared quorum queue that every node consumes (competing consumers:
//! exactly one node takes a job). Updates and stops go to the queue of the node that holds
//! the stream. Both sides declare this topology idempotently.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::spec::StreamSpec;

/// Bumped when a command's shape changes incompatibly; nodes refuse versions they do not know.
pub const MESSAGE_VERSION: u32 = 1;

/// Names of the exchanges and queues, under an optional prefix so tests and environments can
/// share one broker without seeing each other's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    pub prefix: String,
}

impl Topology {
    /// Topology under `prefix` (empty for production).
    pub fn new(prefix: impl Into<String>) -> Self {
        Topology {
            prefix: prefix.into(),
        }
    }

    /// Direct exchange every command is published to.
    pub fn commands_exchange(&self) -> String {
        format!("{}sm.commands", self.prefix)
    }

    /// Exchange that receives commands nodes rejected or that exceeded their delivery limit.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}sm.dead", self.prefix)
    }

    /// Queue holding dead-lettered commands for an operator to inspect. A quorum queue
    /// since the `sm.dead-letters` name: every client declares the topology when it
    /// connects, and a classic queue (the `sm.dead` of earlier releases) whose one broker
    /// node is down cannot be declared, which kept every client off the whole cluster.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}sm.dead-letters", self.prefix)
    }

    /// The shared queue of start jobs.
    pub fn jobs_queue(&self) -> String {
        format!("{}sm.jobs", self.prefix)
    }

    /// Routing key of start jobs.
    pub fn jobs_routing_key(&self) -> &'static str {
        "jobs"
    }

    /// The queue of one node's commands. A quorum queue since the `sm.nodeq.` name: the
    /// classic `sm.node.{id}` queues of earlier releases cannot be redeclared as quorum, so
    /// the new name sits beside them (both bound to the node's routing key) until the old
    /// one expires, unconsumed, 10 minutes after its node moved on.
    pub fn node_queue(&self, node_id: &str) -> String {
        format!("{}sm.nodeq.{node_id}", self.prefix)
    }

    /// Routing key of one node's commands.
    pub fn node_routing_key(&self, node_id: &str) -> String {
        format!("node.{node_id}")
    }
}

/// What a render node is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum NodeCommand {
    /// Take the stream if nobody holds it, and render it.
    Start { spec: Box<StreamSpec> },
    /// Apply a newer desired state to a stream this node holds.
    Update { spec: Box<StreamSpec> },
    /// End the stream cleanly (EOS through the muxer) and release it.
    #[serde(rename_all = "camelCase")]
    Stop { stream_id: Uuid, version: i64 },
}

impl NodeCommand {
    /// The stream the command is about.
    pub fn stream_id(&self) -> Uuid {
        match self {
            NodeCommand::Start { spec } | NodeCommand::Update { spec } => spec.stream_id,
            NodeCommand::Stop { stream_id, .. } => *stream_id,
        }
    }

    /// The desired-state version the command carries.
    pub fn version(&self) -> i64 {
        match self {
            NodeCommand::Start { spec } | NodeCommand::Update { spec } => spec.version,
            NodeCommand::Stop { version, .. } => *version,
        }
    }
}

/// A command as it travels: the message version beside the command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandEnvelope {
    pub message_version: u32,
    #[serde(flatten)]
    pub command: NodeCommand,
}

impl CommandEnvelope {
    /// Wraps a command at the current message version.
    pub fn new(command: NodeCommand) -> Self {
        CommandEnvelope {
            message_version: MESSAGE_VERSION,
            command,
        }
    }
}
