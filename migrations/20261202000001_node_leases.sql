-- Leases per node: a node renews one row per renewal instead of one per stream it holds, so
-- Postgres sees writes at node rate, not stream rate. A stream is held while its holder's node
-- lease is, at the node epoch it was claimed under; the reaper bumps the epoch of a node whose
-- lease lapsed (and clears `node_epoch` on its streams), after which those streams are stale
-- for good. `streams.lease_expires_at` now only protects a fresh claim until the node's first
-- renewal; the stream epoch (`lease_epoch`) still fences stale holders of one stream.
CREATE TABLE node_leases (
    node_id    TEXT PRIMARY KEY,
    epoch      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE streams ADD COLUMN node_epoch BIGINT;

-- Streams held when this migration runs keep their holder: each holder gets a node lease as
-- long as its longest stream lease, so renewals from running nodes find them still held.
INSERT INTO node_leases (node_id, epoch, expires_at)
SELECT node_id, 1, max(coalesce(lease_expires_at, now()))
FROM streams WHERE node_id IS NOT NULL GROUP BY node_id;
UPDATE streams SET node_epoch = 1 WHERE node_id IS NOT NULL;

-- A node's streams (renewals read them, the reaper clears them).
CREATE INDEX streams_node ON streams (node_id, node_epoch) WHERE node_id IS NOT NULL;
-- Stale streams: held by a node epoch that ended, waiting for the reaper.
CREATE INDEX streams_stale ON streams (lease_expires_at) WHERE node_id IS NOT NULL AND node_epoch IS NULL;
-- Claims that have not gone live yet (the start timeout).
CREATE INDEX streams_starting ON streams (claimed_at) WHERE node_id IS NOT NULL AND live_at IS NULL;
-- Replaced by the three above: stream expiries no longer move every second.
DROP INDEX streams_leases;
