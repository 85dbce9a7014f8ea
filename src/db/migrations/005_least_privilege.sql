-- From 0.4.0 vault values are sealed to the operator's public key, named here; older entries name none (the root's
-- vault key of their version sealed them) and open with the root.
ALTER TABLE pii_vault ADD COLUMN IF NOT EXISTS seal_key_id text;

-- Erasure is a tombstone in the vault row itself: a load inserts ON CONFLICT DO NOTHING on the same key, so a load
-- racing a forget either commits first (and the forget erases its value) or finds the tombstone.
ALTER TABLE pii_vault ALTER COLUMN value_sealed DROP NOT NULL;
ALTER TABLE pii_vault ADD COLUMN IF NOT EXISTS forgotten_at timestamptz;
ALTER TABLE pii_vault ADD COLUMN IF NOT EXISTS forget_audit_id bigint;
ALTER TABLE pii_vault ADD CONSTRAINT pii_vault_value_or_tombstone
  CHECK ((value_sealed IS NULL) = (forgotten_at IS NOT NULL));
INSERT INTO pii_vault (field, token, key_version, value_sealed, forgotten_at, forget_audit_id)
SELECT field, token, coalesce(substring(token FROM '^v(\d{1,6}):')::integer, 1), NULL, forgotten_at, audit_id
  FROM pii_erasures
ON CONFLICT (field, token) DO UPDATE
  SET value_sealed = NULL, seal_key_id = NULL, forgotten_at = EXCLUDED.forgotten_at,
      forget_audit_id = EXCLUDED.forget_audit_id;
DROP TABLE pii_erasures;

-- A rotation replaces tokens; each old token keeps pointing at its current one, so reveal and forget take a token
-- from before any rotation (an export, a ticket).
CREATE TABLE IF NOT EXISTS pii_token_aliases (
  field text NOT NULL,
  token varchar(256) NOT NULL,
  current_token varchar(256) NOT NULL,
  PRIMARY KEY (field, token)
);
CREATE INDEX IF NOT EXISTS pii_token_aliases_current_idx ON pii_token_aliases (field, current_token);

-- Audit rows are appended through this function only: it records the session's login role, which the caller
-- cannot choose (actor stays what the operator says it is). The table itself grants nothing to anyone.
ALTER TABLE pii_audit ALTER COLUMN db_user SET DEFAULT session_user;
ALTER TABLE pii_audit DROP CONSTRAINT IF EXISTS pii_audit_action_check;
ALTER TABLE pii_audit ADD CONSTRAINT pii_audit_action_check CHECK (action IN ('reveal', 'forget', 'rotate', 'rotate-root'));
CREATE OR REPLACE FUNCTION pii_append_audit(
  p_actor text, p_action text, p_field text, p_token text, p_message_id text, p_reason text, p_outcome text
) RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO public.pii_audit (actor, db_user, action, field, token, message_id, reason, outcome)
  VALUES (p_actor, session_user, p_action, p_field, p_token, p_message_id, p_reason, p_outcome)
  RETURNING id
$$;
REVOKE ALL ON FUNCTION pii_append_audit(text, text, text, text, text, text, text) FROM PUBLIC;

-- The first root to use the database is recorded; a worker may claim it but not change the key state.
CREATE OR REPLACE FUNCTION pii_claim_root(p_fingerprint text)
RETURNS TABLE (active_version integer, root_fingerprint text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  UPDATE public.pii_key_state SET root_fingerprint = p_fingerprint WHERE root_fingerprint IS NULL;
  SELECT active_version, root_fingerprint FROM public.pii_key_state;
$$;
REVOKE ALL ON FUNCTION pii_claim_root(text) FROM PUBLIC;

-- A load holds the key state shared, so a rotation waits for the loads under way. FOR SHARE would ask the caller
-- for UPDATE on some column of the table; through this function a worker needs none.
CREATE OR REPLACE FUNCTION pii_key_state_for_load()
RETURNS TABLE (active_version integer, root_fingerprint text)
LANGUAGE sql SECURITY DEFINER ROWS 1 SET search_path = pg_catalog, pg_temp AS $$
  SELECT active_version, root_fingerprint FROM public.pii_key_state FOR SHARE
$$;
REVOKE ALL ON FUNCTION pii_key_state_for_load() FROM PUBLIC;

-- Three roles besides the owner (who migrates): workers insert rows, quarantine records and vault entries but
-- read no vault value and touch no audit row; operators (npm run pii) open, erase and rotate, and append audit rows
-- only through pii_append_audit; analysts read the masked tables (migration 002). Login roles join one of them.
-- A migrator that may not create roles skips this; the README lists the same grants for an administrator.
DO $$
DECLARE
  group_role text;
BEGIN
  FOREACH group_role IN ARRAY ARRAY['login_etl_worker', 'login_etl_operator'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = group_role) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', group_role);
      EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL; -- another database's migrator made it just now
        WHEN insufficient_privilege THEN
          RAISE NOTICE 'cannot create role %; see the README for the grants', group_role;
          RETURN;
      END;
    END IF;
  END LOOP;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO login_etl_worker, login_etl_operator', current_database());
  GRANT USAGE ON SCHEMA public TO login_etl_worker, login_etl_operator;
  GRANT SELECT ON schema_migrations, pii_key_state TO login_etl_worker, login_etl_operator;
  GRANT EXECUTE ON FUNCTION pii_claim_root(text) TO login_etl_worker, login_etl_operator;
  GRANT EXECUTE ON FUNCTION pii_key_state_for_load() TO login_etl_worker;

  GRANT SELECT, INSERT ON user_logins, quarantined_messages TO login_etl_worker;
  -- The conflict target (field, token) must be readable for ON CONFLICT; the sealed value is not.
  GRANT INSERT, SELECT (field, token) ON pii_vault TO login_etl_worker;

  GRANT UPDATE ON pii_key_state TO login_etl_operator;
  GRANT SELECT, UPDATE ON user_logins, quarantined_messages TO login_etl_operator;
  GRANT SELECT, INSERT, UPDATE, DELETE ON pii_vault, pii_token_aliases TO login_etl_operator;
  GRANT SELECT ON pii_audit TO login_etl_operator;
  GRANT EXECUTE ON FUNCTION pii_append_audit(text, text, text, text, text, text, text) TO login_etl_operator;
END
$$;
