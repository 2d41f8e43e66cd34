-- Dispatch bookkeeping: how many times a start was handed to a node without coming up, and
-- why the stream failed when it gave up.
ALTER TABLE streams
    ADD COLUMN dispatch_attempts INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN failure_reason TEXT,
    ADD COLUMN live_at TIMESTAMPTZ,
    ADD COLUMN claimed_at TIMESTAMPTZ;

-- The reaper scans on-air streams whose lease lapsed.
CREATE INDEX streams_leases ON streams (lease_expires_at) WHERE node_id IS NOT NULL;
