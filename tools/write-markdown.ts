import { writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';

/** Writes Markdown formatted as the repository's own is, so `npm run lint` stays green after a generated file. */
export async function writeMarkdown(file: string, markdown: string): Promise<void> {
  writeFileSync(file, await format(markdown, { ...(await resolveConfig(file)), filepath: file }));
}
