-- A layer's fader (volume, mute, pan, A/V delay: shared::audio::LayerAudio). Rows stored
-- before it read as the default fader.
ALTER TABLE layers ADD COLUMN audio jsonb NOT NULL DEFAULT '{}'::jsonb;
