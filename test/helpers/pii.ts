import type { Pool } from 'pg';
import { validateLoginMessage } from '../../src/core/validate-message';

/** Every raw ip and device_id of the valid bodies (a malformed body has none the pipeline would read). */
export function rawPiiValues(bodies: string[]): string[] {
  const values = new Set<string>();
  for (const body of bodies) {
    const result = validateLoginMessage(body);
    if (result.ok) {
      values.add(result.event.ip);
      values.add(result.event.device_id);
    }
  }
  return [...values];
}

/** Every row of every table of the public schema (but those excepted), as text. */
export async function dumpTables(pool: Pool, { except = [] as string[] } = {}): Promise<string> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT quote_ident(table_name) AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND NOT table_name = ANY($1)`,
    [except],
  );
  const dumps = await Promise.all(
    tables.map(async ({ name }) => (await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`)).rows),
  );
  return dumps
    .flat()
    .map(({ row }) => row)
    .join('\n');
}

export function findLeaks(haystack: string, values: string[]): string[] {
  return values.filter((value) => haystack.includes(value));
}
