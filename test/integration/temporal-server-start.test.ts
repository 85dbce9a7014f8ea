import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log';
import { freePorts } from '../../src/stack/readiness';
import { findTemporalCli } from '../../src/stack/temporal-cli';
import { startTemporalServer } from '../../src/stack/temporal-server';

describe('the Temporal dev server', () => {
  it('starts again when a port it binds was taken in the meantime', async () => {
    // Another process holds the HTTP API port, and lets it go once the first start has failed on it.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const httpPort = (blocker.address() as { port: number }).port;
    const lines: string[] = [];
    const log = createLogger('temporal', (line) => {
      lines.push(line);
      if (line.includes('address already in use')) blocker.close();
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'temporal-start-'));
    const { port, uiPort } = await freePorts('port', 'uiPort');
    const server = await startTemporalServer({
      cli: findTemporalCli(process.env.TEMPORAL_CLI),
      port,
      uiPort,
      dbFile: path.join(dir, 'temporal.db'),
      log,
      extraArgs: ['--http-port', String(httpPort)],
    });
    try {
      assert.ok(lines.some((line) => line.includes('starting it again')));
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
