-- The root a root rotation moves away from: a resumed `pii rotate-root` checks it is given the same two roots.
ALTER TABLE pii_key_state ADD COLUMN IF NOT EXISTS previous_root_fingerprint text;
