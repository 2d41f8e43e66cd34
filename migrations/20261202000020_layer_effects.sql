-- Per-layer effects (issue 17): a JSON list applied in order; see shared/src/effect.rs.
ALTER TABLE layers ADD COLUMN effects JSONB NOT NULL DEFAULT '[]'::jsonb;
