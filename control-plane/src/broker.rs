//! The control plane's link to RabbitMQ: one confirm-mode channel, reopened on demand.
//!
//! We do not rely on lapin's auto-recovery: after any failure the link is dropped and the
//! next publish reconnects (and re-declares the topology). Commands are never lost while the
//! broker is away, because they wait in the Postgres outbox until a publish is confirmed.

use std::time::Duration;

use lapin::{Channel, Connection};
use secrecy::{ExposeSecret, SecretString};
use shared::amqp::{self, AmqpError};
use shared::messages::Topology;
use tokio::sync::Mutex;

/// How long a publish waits for the broker's confirm.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

struct Link {
    // Kept so the connection lives as long as its channel.
    _conn: Connection,
    channel: Channel,
}

/// A lazily (re)connected publisher.
pub struct Broker {
    url: SecretString,
    topology: Topology,
    link: Mutex<Option<Link>>,
}

impl Broker {
    /// A broker link; nothing connects until first use.
    pub fn new(url: SecretString, topology: Topology) -> Self {
        Broker {
            url,
            topology,
            link: Mutex::new(None),
        }
    }

    /// The names this broker publishes under.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    async fn channel(&self) -> Result<Channel, AmqpError> {
        let mut link = self.link.lock().await;
        if let Some(l) = link.as_ref()
            && l.channel.status().connected()
        {
            return Ok(l.channel.clone());
        }
        *link = None;
        let conn = amqp::connect(self.url.expose_secret(), "control-plane").await?;
        let channel = amqp::confirm_channel(&conn).await?;
        amqp::declare_topology(&channel, &self.topology).await?;
        tracing::info!("connected to the broker");
        *link = Some(Link {
            _conn: conn,
            channel: channel.clone(),
        });
        Ok(channel)
    }

    /// Drops the link so the next call reconnects.
    async fn reset(&self) {
        *self.link.lock().await = None;
    }

    /// Connects if needed: true when the broker answers (used by `/readyz`).
    pub async fn check(&self) -> bool {
        match tokio::time::timeout(Duration::from_secs(2), self.channel()).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "broker not reachable");
                false
            }
            Err(_) => false,
        }
    }

    /// Publishes a batch of commands to the commands exchange with one confirm wait; results
    /// in the batch's order.
    pub async fn publish_batch(&self, batch: Vec<amqp::Outgoing>) -> Vec<Result<(), AmqpError>> {
        let total = batch.len();
        let channel = match self.channel().await {
            Ok(c) => c,
            // The first row carries the reason; the rest wait for the next attempt.
            Err(e) => {
                return std::iter::once(Err(e))
                    .chain(std::iter::repeat_with(|| Err(AmqpError::ConfirmTimeout)))
                    .take(total)
                    .collect();
            }
        };
        let exchange = self.topology.commands_exchange();
        let results = amqp::publish_batch(&channel, &exchange, batch, CONFIRM_TIMEOUT).await;
        if results
            .iter()
            .any(|r| matches!(r, Err(e) if !matches!(e, AmqpError::Unroutable(_))))
        {
            self.reset().await;
        }
        results
    }
}
