//! RabbitMQ plumbing both binaries share: connect, declare the topology, publish with
//! confirms. The topology is declared idempotently by whoever connects first.

use std::time::Duration;

use lapin::Confirmation;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tracing::Instrument;

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
    #[error("no broker URL given")]
    NoBroker,
    #[error("the broker did not answer in time")]
    ConnectTimeout,
    #[error("the broker could not route the message to any queue ({0})")]
    Unroutable(String),
}

/// How long one broker node of a list gets to answer before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens a connection; `name` shows in the broker's management UI. `urls` is one AMQP URL
/// or several, comma separated (the nodes of a cluster): the first that answers is used, so
/// a caller that reconnects after losing its node lands on a live one.
pub async fn connect(urls: &str, name: &str) -> Result<Connection, AmqpError> {
    let mut last = AmqpError::NoBroker;
    for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        match tokio::time::timeout(CONNECT_TIMEOUT, connect_one(url, name)).await {
            Ok(Ok(conn)) => return Ok(conn),
            Ok(Err(e)) => last = e.into(),
            Err(_) => last = AmqpError::ConnectTimeout,
        }
        // The URL carries credentials: only the failure is logged, by position.
        tracing::debug!(error = %last, "broker node did not answer; trying the next");
    }
    Err(last)
}

async fn connect_one(url: &str, name: &str) -> Result<Connection, lapin::Error> {
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
    Connection::connect(&url, props).await
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
            table(&[("x-queue-type", AMQPValue::LongString("quorum".into()))]),
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

/// Declares one node's command queue: a quorum queue, so updates and stops published while
/// the broker node that led it dies are kept by the others (a classic queue lives on one
/// broker node, and commands routed to it while that node is down are lost); expiring,
/// since a node's queue is useless once the node is gone (its streams are re-dispatched
/// through the jobs queue).
pub async fn declare_node_queue(
    channel: &Channel,
    topo: &Topology,
    node_id: &str,
) -> Result<String, AmqpError> {
    let name = topo.node_queue(node_id);
    let args = table(&[
        ("x-queue-type", AMQPValue::LongString("quorum".into())),
        ("x-expires", AMQPValue::LongLongInt(10 * 60 * 1000)),
        (
            "x-dead-letter-exchange",
            AMQPValue::LongString(topo.dead_letter_exchange().into()),
        ),
        ("x-delivery-limit", AMQPValue::LongLongInt(DELIVERY_LIMIT)),
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

/// One message of a batch: where it goes, what it says, and the span its publish belongs to.
pub struct Outgoing {
    pub routing_key: String,
    pub payload: Vec<u8>,
    pub headers: FieldTable,
    pub span: tracing::Span,
}

fn persistent_json(headers: FieldTable) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2) // persistent: survives a broker restart
        .with_content_type("application/json".into())
        .with_headers(headers)
}

// mandatory: an unroutable command (no queue bound) comes back instead of vanishing.
const MANDATORY: BasicPublishOptions = BasicPublishOptions {
    mandatory: true,
    immediate: false,
};

fn confirmed(confirmation: Confirmation) -> Result<(), AmqpError> {
    if confirmation.is_nack() {
        return Err(AmqpError::Nacked);
    }
    if let Some(returned) = confirmation.take_message() {
        return Err(AmqpError::Unroutable(returned.reply_text.to_string()));
    }
    Ok(())
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
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            MANDATORY,
            payload,
            persistent_json(headers),
        )
        .await?;
    let confirmation = tokio::time::timeout(timeout, confirm)
        .await
        .map_err(|_| AmqpError::ConfirmTimeout)??;
    confirmed(confirmation)
}

/// Publishes every message of `batch` (persistent JSON, mandatory), then waits once for all
/// their confirms, which the broker sends as they are stored (several at a time with
/// `multiple`): a batch costs one confirm wait instead of one per message. Results come in
/// the batch's order; a send that fails ends the batch there (the messages after it are not
/// sent and are reported with that error's kind as a timeout, to be retried).
pub async fn publish_batch(
    channel: &Channel,
    exchange: &str,
    batch: Vec<Outgoing>,
    timeout: Duration,
) -> Vec<Result<(), AmqpError>> {
    let total = batch.len();
    let mut pending = Vec::with_capacity(total);
    let mut failed = None;
    for m in batch {
        let sent = channel
            .basic_publish(
                exchange.into(),
                m.routing_key.as_str().into(),
                MANDATORY,
                &m.payload,
                persistent_json(m.headers),
            )
            .instrument(m.span)
            .await;
        match sent {
            Ok(confirm) => pending.push(confirm),
            Err(e) => {
                failed = Some(AmqpError::from(e));
                break;
            }
        }
    }
    let mut results = Vec::with_capacity(total);
    let deadline = tokio::time::Instant::now() + timeout;
    for confirm in pending {
        results.push(match tokio::time::timeout_at(deadline, confirm).await {
            Ok(Ok(c)) => confirmed(c),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(AmqpError::ConfirmTimeout),
        });
    }
    if let Some(e) = failed {
        results.push(Err(e));
    }
    while results.len() < total {
        results.push(Err(AmqpError::ConfirmTimeout));
    }
    results
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
