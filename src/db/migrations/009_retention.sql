-- Retention (npm run retention) writes an audit row each run, like the other operator actions.
ALTER TABLE pii_audit DROP CONSTRAINT IF EXISTS pii_audit_action_check;
ALTER TABLE pii_audit ADD CONSTRAINT pii_audit_action_check
  CHECK (action IN ('reveal', 'forget', 'rotate', 'rotate-root', 'retention'));

-- What analysts query logins by (a user, a day, a device or an address token), and what retention needs to find
-- the vault values no row uses any more without reading the whole table.
CREATE INDEX IF NOT EXISTS user_logins_user_id_idx ON user_logins (user_id);
CREATE INDEX IF NOT EXISTS user_logins_create_date_idx ON user_logins (create_date);
CREATE INDEX IF NOT EXISTS user_logins_masked_ip_idx ON user_logins (masked_ip);
CREATE INDEX IF NOT EXISTS user_logins_masked_device_id_idx ON user_logins (masked_device_id);
CREATE INDEX IF NOT EXISTS quarantined_messages_quarantined_at_idx ON quarantined_messages (quarantined_at);
