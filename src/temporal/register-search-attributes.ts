import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createLogger } from '../log';
import { waitUntil } from '../stack/readiness';
import { DRAIN_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const log = createLogger('search-attributes');

/** The types the drain's attributes use: as the server stores them, and as the Temporal CLI names them. */
const TYPES = {
  KEYWORD: { indexed: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, cli: 'Keyword' },
  INT: { indexed: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT, cli: 'Int' },
} as const;

/** The commands an administrator runs when we may not register them: one per type, as the CLI takes one type. */
const searchAttributeCommand = (namespace: string) =>
  (Object.keys(TYPES) as (keyof typeof TYPES)[])
    .map(
      (type) =>
        `temporal operator search-attribute create --namespace ${namespace} --type ${TYPES[type].cli} ` +
        Object.values(DRAIN_SEARCH_ATTRIBUTES)
          .filter((key) => key.type === type)
          .map((key) => `--name ${key.name}`)
          .join(' '),
    )
    .join(' && ');

/**
 * Registers the drain's search attributes in the namespace when they are missing. A workflow that upserts an
 * unregistered attribute fails every workflow task, so drains publish them only when this returns true; where
 * registration is not allowed (Temporal Cloud, a restricted role), drains run without them and we say how to add them.
 */
export async function registerDrainSearchAttributes(client: Client, namespace: string): Promise<boolean> {
  const operator = client.connection.operatorService;
  const registered = async () => (await operator.listSearchAttributes({ namespace })).customAttributes ?? {};
  try {
    const existing = await registered();
    const mistyped = Object.values(DRAIN_SEARCH_ATTRIBUTES).filter(
      (key) => key.name in existing && existing[key.name] !== TYPES[key.type].indexed,
    );
    if (mistyped.length > 0)
      throw new Error(`registered with another type: ${mistyped.map((key) => key.name).join(', ')}`);
    const missing = Object.values(DRAIN_SEARCH_ATTRIBUTES).filter((key) => !(key.name in existing));
    if (missing.length === 0) return true;
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, TYPES[key.type].indexed])),
    });
    // The server's namespace cache may take a moment to show the new attributes.
    await waitUntil(
      'search attributes',
      async () => {
        const now = await registered();
        return missing.every((key) => key.name in now);
      },
      { timeoutMs: 15_000 },
    );
    return true;
  } catch (error) {
    log.warn('drains run without search attributes: they are not registered and could not be', {
      error: (error as Error).message,
      fix: searchAttributeCommand(namespace),
    });
    return false;
  }
}
