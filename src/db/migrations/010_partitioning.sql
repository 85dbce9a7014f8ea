-- user_logins becomes partitioned by month (src/db/partitioning.ts does it after the migrations, as the owner): a
-- new partitioned table is filled from the existing one in batches while loads go on, then takes its name in one
-- short transaction. Until then this trigger copies every change of a loaded row into the new table. Rows without a
-- message id (loaded before the pipeline) have no key to follow, so they are read-only while the copy runs.
CREATE TABLE IF NOT EXISTS partitioning_progress (
  table_name text PRIMARY KEY,
  -- Pages of the existing table below next_page are copied; pages from last_page on hold only rows the trigger copied.
  next_page bigint NOT NULL DEFAULT 0,
  last_page bigint NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION partitioning_mirror() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  target text := TG_ARGV[0];
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION '% is being partitioned (npm run migrate): it cannot be truncated until that ends', TG_TABLE_NAME
      USING ERRCODE = 'object_in_use';
  END IF;
  -- NEW is null in a DELETE trigger and OLD in an INSERT one, so each test reads only the row it has.
  IF (TG_OP IN ('UPDATE', 'DELETE') AND OLD.message_id IS NULL) OR (TG_OP IN ('INSERT', 'UPDATE') AND NEW.message_id IS NULL) THEN
    RAISE EXCEPTION '% is being partitioned (npm run migrate): rows without a message_id cannot be added or changed until it ends',
      TG_TABLE_NAME USING ERRCODE = 'object_in_use';
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    EXECUTE format('DELETE FROM %I WHERE message_id = $1', target) USING OLD.message_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('INSERT INTO %I SELECT ($1::%I).* ON CONFLICT DO NOTHING', target, TG_TABLE_NAME) USING NEW;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION partitioning_mirror() FROM PUBLIC;

-- A load looks a message up by its key, (message_id, create_date), so workers read that column too.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'login_etl_worker') THEN
    GRANT SELECT (create_date) ON user_logins TO login_etl_worker;
  END IF;
END
$$;

-- Where a row's sent_at came from (core/message-origin.ts): `sqs`, `receipt` (the server gave none) or `redrive`;
-- the load looks a message up across days only for the last two. NULL for rows loaded before.
ALTER TABLE user_logins ADD COLUMN IF NOT EXISTS sent_at_source varchar(8);
