-- Canonical tokens: ip_valid says whether ip parsed as an address (false: tokenized as a plain string).
ALTER TABLE user_logins ADD COLUMN IF NOT EXISTS ip_valid boolean;
-- Duplicates are found by token, and rotation re-indexes rows by token.
CREATE INDEX IF NOT EXISTS user_logins_masked_ip_idx ON user_logins (masked_ip);
CREATE INDEX IF NOT EXISTS user_logins_masked_device_id_idx ON user_logins (masked_device_id);

-- The PII key version new data is masked with, and the fingerprint of the root key every version derives from:
-- a worker started with another root would write tokens that join with nothing, so it is refused.
CREATE TABLE IF NOT EXISTS pii_key_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  active_version integer NOT NULL DEFAULT 1 CHECK (active_version >= 1),
  root_fingerprint text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO pii_key_state DEFAULT VALUES ON CONFLICT DO NOTHING;

-- The value behind each token, sealed (AES-256-GCM; associated data: field, token, key version).
CREATE TABLE IF NOT EXISTS pii_vault (
  field text NOT NULL CHECK (field IN ('ip', 'device_id')),
  token varchar(256) NOT NULL,
  key_version integer NOT NULL,
  value_sealed bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (field, token)
);
CREATE INDEX IF NOT EXISTS pii_vault_key_version_idx ON pii_vault (key_version);

-- Tokens whose value was erased: a later message with the same value is not vaulted again under that token.
CREATE TABLE IF NOT EXISTS pii_erasures (
  field text NOT NULL,
  token varchar(256) NOT NULL,
  forgotten_at timestamptz NOT NULL DEFAULT now(),
  audit_id bigint NOT NULL,
  PRIMARY KEY (field, token)
);

-- Who recovered, erased or rotated what, and why; written before the value is decrypted, and never changed.
CREATE TABLE IF NOT EXISTS pii_audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL CHECK (btrim(actor) <> ''),
  db_user text NOT NULL DEFAULT current_user,
  action text NOT NULL CHECK (action IN ('reveal', 'forget', 'rotate')),
  field text,
  token varchar(256),
  message_id varchar(128),
  reason text NOT NULL CHECK (btrim(reason) <> ''),
  outcome text NOT NULL
);

CREATE OR REPLACE FUNCTION pii_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'pii_audit is append-only: % is not allowed', TG_OP;
END
$$;
DROP TRIGGER IF EXISTS pii_audit_no_change ON pii_audit;
CREATE TRIGGER pii_audit_no_change BEFORE UPDATE OR DELETE ON pii_audit
  FOR EACH ROW EXECUTE FUNCTION pii_audit_is_append_only();
DROP TRIGGER IF EXISTS pii_audit_no_truncate ON pii_audit;
CREATE TRIGGER pii_audit_no_truncate BEFORE TRUNCATE ON pii_audit
  FOR EACH STATEMENT EXECUTE FUNCTION pii_audit_is_append_only();

-- Analysts read the masked table and nothing of the vault. Roles belong to the whole server: a migrator that may
-- not create roles skips this, and the README lists the same grants for an administrator to run.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'login_etl_analyst') THEN
    BEGIN
      CREATE ROLE login_etl_analyst NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL; -- another database's migrator made it just now
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot create role login_etl_analyst; see the README for the grants';
        RETURN;
    END;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO login_etl_analyst', current_database());
  GRANT USAGE ON SCHEMA public TO login_etl_analyst;
  GRANT SELECT ON user_logins, quarantined_messages TO login_etl_analyst;
END
$$;
