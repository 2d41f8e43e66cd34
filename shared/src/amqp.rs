//! RabbitMQ plumbing both binaries share: connect, declare the topology, publish with
//! confirms. The topology is declared idempotently by whoever connects first.

use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::messages::Topology;
use crate::trace_context::TraceContext;

/// Times a poisoned command is redelivered before RabbitMQ dead-letters it.
const DELIVERY_LIMIT: i64 = 5;

/// What can go wrong talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    #[error("amqp: {0}")]
    Protocol(#[from] lapin::Error),
    #[error("the broker did not confirm the message in time")]
    ConfirmTimeout,
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("the broker could not route the message to any queue ({0})")]
    Unroutable(String),
}

/// Opens a connection; `name` shows in the broker's management UI.
pub async fn connect(url: &str, name: &str) -> Result<Connection, AmqpError> {
    // Heartbeats detect a dead broker (or a dead peer behind a NAT) within ~2 intervals;
    // lapin's default is the server's 60 s, too slow for failover.
    let url = if url.contains("heartbeat=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&heartbeat=10")
    } else {
        format!("{url}?heartbeat=10")
    };
    let props = ConnectionProperties::default().with_connection_name(name.into());
    Ok(Connection::connect(&url, props).await?)
}

fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in entries {
        t.insert(ShortString::from(*k), v.clone());
    }
    t
}

/// Declares the exchanges, the shared jobs queue and the dead-letter queue.
pub async fn declare_topology(channel: &Channel, topo: &Topology) -> Result<(), AmqpError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            topo.commands_exchange().into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            topo.dead_letter_exchange().into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            topo.dead_letter_queue().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            topo.dead_letter_queue().into(),
            topo.dead_letter_exchange().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    // Quorum: replicated and durable, so an accepted start job survives a broker node loss;
    // its delivery limit dead-letters a command that crashes every node that takes it.
    let jobs_args = table(&[
        ("x-queue-type", AMQPValue::LongString("quorum".into())),
        (
            "x-dead-letter-exchange",
            AMQPValue::LongString(topo.dead_letter_exchange().into()),
        ),
        ("x-delivery-limit", AMQPValue::LongLongInt(DELIVERY_LIMIT)),
    ]);
    channel
        .queue_declare(
            topo.jobs_queue().into(),
            QueueDeclareOptions::durable(),
            jobs_args,
        )
        .await?;
    channel
        .queue_bind(
            topo.jobs_queue().into(),
            topo.commands_exchange().into(),
            topo.jobs_routing_key().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Declares one node's command queue: classic and expiring, since a node's queue is useless
/// once the node is gone (its streams are re-dispatched through the jobs queue).
pub async fn declare_node_queue(
    channel: &Channel,
    topo: &Topology,
    node_id: &str,
) -> Result<String, AmqpError> {
    let name = topo.node_queue(node_id);
    let args = table(&[
        ("x-expires", AMQPValue::LongLongInt(10 * 60 * 1000)),
        (
            "x-dead-letter-exchange",
            AMQPValue::LongString(topo.dead_letter_exchange().into()),
        ),
    ]);
    channel
        .queue_declare(name.as_str().into(), QueueDeclareOptions::durable(), args)
        .await?;
    channel
        .queue_bind(
            name.as_str().into(),
            topo.commands_exchange().into(),
            topo.node_routing_key(node_id).into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(name)
}

/// A channel in confirm mode: every publish waits for the broker's ack.
pub async fn confirm_channel(conn: &Connection) -> Result<Channel, AmqpError> {
    let channel = conn.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(channel)
}

/// Publishes a persistent JSON message and waits for the broker to confirm it.
pub async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    payload: &[u8],
    headers: FieldTable,
    timeout: Duration,
) -> Result<(), AmqpError> {
    let props = BasicProperties::default()
        .with_delivery_mode(2) // persistent: survives a broker restart
        .with_content_type("application/json".into())
        .with_headers(headers);
    // mandatory: an unroutable command (no queue bound) comes back instead of vanishing.
    let opts = BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };
    let confirm = channel
        .basic_publish(exchange.into(), routing_key.into(), opts, payload, props)
        .await?;
    let confirmation = tokio::time::timeout(timeout, confirm)
        .await
        .map_err(|_| AmqpError::ConfirmTimeout)??;
    if confirmation.is_nack() {
        return Err(AmqpError::Nacked);
    }
    if let Some(returned) = confirmation.take_message() {
        return Err(AmqpError::Unroutable(returned.reply_text.to_string()));
    }
    Ok(())
}

/// Message headers carrying `ctx` (none without one), so the consumer's span continues the
/// publisher's trace.
pub fn trace_headers(ctx: Option<&TraceContext>) -> FieldTable {
    let mut t = FieldTable::default();
    for (name, value) in ctx.into_iter().flat_map(TraceContext::fields) {
        t.insert(ShortString::from(name), AMQPValue::LongString(value.into()));
    }
    t
}

/// The trace context a message's headers carry, if any.
pub fn trace_context(headers: Option<&FieldTable>) -> Option<TraceContext> {
    let inner = headers?.inner();
    TraceContext::from_fields(|name| match inner.get(name)? {
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok(),
        AMQPValue::ShortString(s) => Some(s.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace_context::{TRACEPARENT, TRACESTATE, recording};

    #[test]
    fn a_message_without_trace_headers_has_no_context() {
        assert_eq!(trace_context(None), None);
        assert_eq!(trace_context(Some(&trace_headers(None))), None);
        let other = table(&[("x-death", AMQPValue::LongLongInt(1))]);
        assert_eq!(trace_context(Some(&other)), None);
    }

    #[test]
    fn the_publishers_span_becomes_the_parent_of_the_consumers() {
        let ((sent, received), spans) = recording(|| {
            let publish = tracing::info_span!("publish");
            let mut sent = TraceContext::of(&publish).expect("a span context");
            sent.tracestate = Some("vendor=7".into());
            let headers = trace_headers(Some(&sent));
            assert!(headers.contains_key(TRACEPARENT) && headers.contains_key(TRACESTATE));
            drop(publish);
            // The node reads the headers the relay published with.
            let received = trace_context(Some(&headers)).expect("read back");
            let job = tracing::info_span!("job");
            received.adopt(&job);
            (sent, received)
        });
        assert_eq!(received, sent);
        let find = |name: &str| {
            spans
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no {name} span in {spans:?}"))
        };
        let (publish, job) = (find("publish"), find("job"));
        assert_eq!(job.span_context.trace_id(), publish.span_context.trace_id());
        assert_eq!(job.parent_span_id, publish.span_context.span_id());
        assert!(job.parent_span_is_remote);
    }
}
