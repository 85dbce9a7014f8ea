-- The batch that committed each row and quarantine record: a retried load counts the rows it committed before as
-- loaded, and a redelivered message finds another batch's row, a duplicate. NULL for what was loaded before.
ALTER TABLE user_logins ADD COLUMN IF NOT EXISTS batch_id uuid;
ALTER TABLE quarantined_messages ADD COLUMN IF NOT EXISTS batch_id uuid;
