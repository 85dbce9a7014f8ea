-- Workers write and read no more than their statements need. Vault entries only with the columns a load writes,
-- so a worker cannot write a tombstone (forgotten_at, forget_audit_id) that would make `pii reveal` report an
-- erasure nobody audited; of the loaded tables only the idempotency key and the batch id (the load's conflict
-- target, the delete check, what a lost batch committed), so no sealed quarantined body and no masked value.
-- Planted vault values are caught where they are opened: reveal and rotate check each value against its token.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'login_etl_worker') THEN
    REVOKE INSERT ON pii_vault FROM login_etl_worker;
    GRANT INSERT (field, token, key_version, value_sealed, seal_key_id) ON pii_vault TO login_etl_worker;
    REVOKE SELECT ON user_logins, quarantined_messages FROM login_etl_worker;
    GRANT SELECT (message_id, batch_id) ON user_logins, quarantined_messages TO login_etl_worker;
  END IF;
END
$$;
