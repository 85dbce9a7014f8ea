import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SETTINGS_DOC, settingsDoc } from '../../tools/settings-doc';

describe('the settings reference', () => {
  it('docs/configuration.md lists every setting as src/config.ts declares it', async () => {
    assert.equal(readFileSync(SETTINGS_DOC, 'utf8'), await settingsDoc(), 'stale: run npm run docs:settings');
  });
});
