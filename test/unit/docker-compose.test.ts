import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, LOCAL_PORTS, PROJECT_ROOT } from '../../src/config';
import { developmentKeysAllowed } from '../../src/secrets';

interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
}

// No Docker engine runs here: the compose file is checked by reading it.
const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};

describe('docker-compose.yml', () => {
  it('runs LocalStack 4.14, Postgres and Temporal with pinned images and healthchecks, and the worker', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['localstack', 'postgres', 'temporal', 'worker']);
    assert.equal(compose.services.localstack!.image, 'localstack/localstack:4.14');
    for (const [name, service] of Object.entries(compose.services).filter(([name]) => name !== 'worker')) {
      assert.match(service.image ?? '', /:\d[\w.-]*$/, `${name} is pinned`);
      assert.ok(service.healthcheck?.test.length, `${name} has a healthcheck`);
    }
  });

  it('builds the worker from the Dockerfile, non-root, with every setting it needs valid', () => {
    const worker = compose.services.worker!;
    assert.equal(worker.build, '.');
    const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2, 'multi-stage');
    const env = { ...worker.environment, PII_HMAC_KEY: '', PII_VAULT_PUBLIC_KEY: '', LOGIN_ETL_DEV_KEYS: 'false' };
    const config = loadConfig({ ...env, NODE_ENV: 'production' });
    assert.equal(developmentKeysAllowed(config), false, 'without keys the image stops rather than make its own');
    assert.equal(config.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(config.databaseUrl, 'postgres://postgres:postgres@postgres:5432/login_etl');
    assert.equal(config.LOGIN_ETL_DATA_DIR, '/data');
    assert.equal(config.metricsAddress, '0.0.0.0:9464', 'metrics reachable from outside the container');
    assert.match(dockerfile, /^EXPOSE 9464$/m);
    assert.match(dockerfile, /config\.workerNodeFlags/, 'the Node flags come from their one declaration');
    assert.match(dockerfile, /chown node:node \/data/, 'the node user can write its data directory');
    assert.match(dockerfile, /^FROM node:24\.\d+\.\d+-/m, 'Node 24 LTS, by exact version');
    assert.match(dockerfile, /npm run build/, 'the image runs the compiled build');
    assert.match(dockerfile, /dist\/worker\.js$/m);
    assert.match(dockerfile, /^HEALTHCHECK /m);
  });

  it('publishes the local stack ports, so the commands need no setting', () => {
    const published = Object.values(compose.services).flatMap((s) =>
      (s.ports ?? []).map((p) => {
        const [host, published] = p.split(':');
        assert.equal(host, '127.0.0.1', `${p}: published on this machine only`);
        return Number(published);
      }),
    );
    const { codecServer, ...served } = LOCAL_PORTS;
    for (const port of Object.values(served)) assert.ok(published.includes(port), `port ${port}`);
    // The codec server runs on the host (it holds the key), where the browser reaches it.
    const command = compose.services.temporal!.command ?? [];
    assert.equal(command[command.indexOf('--ui-codec-endpoint') + 1], `http://localhost:${codecServer}`);
  });

  it('mounts files that exist: the executable init hook and the sample data', () => {
    for (const volume of compose.services.localstack!.volumes ?? []) {
      const source = path.join(PROJECT_ROOT, volume.split(':')[0]!);
      assert.ok(existsSync(source), source);
      if (source.endsWith('.sh')) accessSync(source, constants.X_OK);
    }
  });
});
