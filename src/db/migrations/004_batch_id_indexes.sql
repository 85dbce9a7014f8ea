-- A batch lost with its worker is settled by counting what its load committed, by batch id.
CREATE INDEX IF NOT EXISTS user_logins_batch_id ON user_logins (batch_id);
CREATE INDEX IF NOT EXISTS quarantined_messages_batch_id ON quarantined_messages (batch_id);
