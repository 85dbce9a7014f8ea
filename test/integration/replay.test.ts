import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { createKeyring } from '../../src/core/keys';
import { createDataConverter } from '../../src/temporal/data-converter';
import { REPLAY_HISTORIES_DIR, REPLAY_ROOT_SECRET } from '../helpers/replay';
import { TEST_ENV } from '../helpers/test-env';

const histories = readdirSync(REPLAY_HISTORIES_DIR).flatMap((release) =>
  readdirSync(path.join(REPLAY_HISTORIES_DIR, release))
    .filter((file) => file.endsWith('.json'))
    .map((file) => ({ release, file, path: path.join(REPLAY_HISTORIES_DIR, release, file) })),
);

// A worker upgrade must finish what older workers started: every recorded drain (and retention run) of every release replays
// against today's workflow code without a nondeterminism error (docs/design.md, "Changing the workflow").
describe('replay of recorded drains and retention runs', () => {
  it("every release's drains replay on the current workflow code", async () => {
    assert.ok(histories.length >= 4, 'the recorded histories are missing');
    const results = Worker.runReplayHistories(
      {
        workflowBundle: { codePath: process.env[TEST_ENV.bundle]! },
        dataConverter: createDataConverter(createKeyring(Buffer.from(REPLAY_ROOT_SECRET, 'utf8'))),
      },
      histories.map(({ release, file, path: historyPath }) => ({
        workflowId: `${release}/${file}`,
        history: JSON.parse(readFileSync(historyPath, 'utf8')) as unknown,
      })),
    );
    const failures: string[] = [];
    for await (const result of results) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    assert.deepEqual(failures, []);
  });
});
