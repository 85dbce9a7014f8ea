import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { freePorts } from '../../src/stack/readiness';

void it('freePorts gives distinct ports, each free to bind', async () => {
  // One at a time, the OS may hand out a port it just released again: a stack's two servers then collide.
  const ports = Object.values(await freePorts(...Array.from({ length: 64 }, (_, index) => `port${index}`)));
  assert.equal(new Set(ports).size, ports.length);
  for (const port of ports) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  }
});
