-- A replaced token is stored as an HMAC under the alias key of the root in use (alias_key_id names it), so the
-- holder of a replaced root, who can compute its old tokens, cannot follow them to today's rows. Rows from before
-- this migration hold the plain token (alias_key_id NULL) until the next `pii rotate` or `rotate-root` keys them.
ALTER TABLE pii_token_aliases ADD COLUMN IF NOT EXISTS alias_key_id text;

-- Nobody but the owner creates objects in public: an operator or function there that matches the argument types
-- more closely than pg_catalog's (`=` on varchar has none there) would run inside the pipeline's statements.
-- Postgres 15 and newer start this way; older ones grant CREATE to PUBLIC. The pipeline's connections also pin
-- search_path to public (src/db/pool.ts), so a schema named after a login role ("$user") is never searched.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
