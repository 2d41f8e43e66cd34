-- The W3C trace context of the span that queued each command, so the relay (which publishes
-- later, maybe from another replica) can hand it on in the AMQP headers and the render
-- node's work joins the API request's trace. NULL when tracing is off.
ALTER TABLE outbox
    ADD COLUMN traceparent TEXT,
    ADD COLUMN tracestate TEXT;
