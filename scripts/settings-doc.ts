/** `npm run docs:settings`: writes the settings table of docs/configuration.md from the schema in src/config.ts. */
import { writeSettingsDoc } from '../tools/settings-doc';

writeSettingsDoc().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
