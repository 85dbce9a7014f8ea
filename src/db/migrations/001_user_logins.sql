-- The reference table, exactly as the exercise defines it; it may already exist with rows.
CREATE TABLE IF NOT EXISTS user_logins (
  user_id varchar(128),
  device_type varchar(32),
  masked_ip varchar(256),
  masked_device_id varchar(256),
  locale varchar(32),
  app_version integer,
  create_date date
);

-- The SQS MessageId is the idempotency key: a redelivered message finds its row and is not loaded twice.
-- Rows that predate the pipeline keep a NULL message_id, which a unique index allows any number of.
ALTER TABLE user_logins ADD COLUMN IF NOT EXISTS message_id varchar(128);
ALTER TABLE user_logins ADD COLUMN IF NOT EXISTS app_version_text varchar(32);
ALTER TABLE user_logins ADD COLUMN IF NOT EXISTS sent_at timestamptz;
ALTER TABLE user_logins ADD COLUMN IF NOT EXISTS loaded_at timestamptz DEFAULT now();
CREATE UNIQUE INDEX IF NOT EXISTS user_logins_message_id_key ON user_logins (message_id);

CREATE TABLE IF NOT EXISTS quarantined_messages (
  message_id varchar(128) PRIMARY KEY,
  reason text NOT NULL,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  receive_count integer,
  body_bytes integer NOT NULL,
  -- AES-256-GCM (nonce, ciphertext, tag) under the key named by body_key_id: the body may hold a raw ip.
  body_sealed bytea,
  body_key_id text
);
