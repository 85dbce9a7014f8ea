/**
 * The alerts (deploy/prometheus) under promtool, and the dashboard (deploy/grafana) against a real Prometheus that
 * scrapes a real worker during a real drain: every panel's every query returns data. Debian's `prometheus` package
 * gives both binaries; without them the tests say so and skip.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../../src/config';
import { syntheticBodies } from '../../src/core/synthetic-events';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { freePort, waitUntil } from '../../src/stack/readiness';
import { dashboardPicture, type PanelSeries } from '../../tools/dashboard-picture';
import { startCommand } from '../helpers/commands';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';

const PROMETHEUS_DIR = path.join(PROJECT_ROOT, 'deploy', 'prometheus');
const DASHBOARD = path.join(PROJECT_ROOT, 'deploy', 'grafana', 'login-etl.json');
const installed = (binary: string) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
const MISSING = "needs Debian's prometheus package (prometheus and promtool): apt-get install prometheus";

interface Dashboard {
  title: string;
  panels: {
    title: string;
    fieldConfig: { defaults: { unit: string } };
    targets: { expr: string; legendFormat: string }[];
  }[];
}

/** Grafana's unit ids, as the picture labels them. */
const UNIT_LABELS: Record<string, string> = { reqps: 'per second', s: 'seconds', bytes: 'bytes' };

/** Grafana's `$__rate_interval` for a 1 s scrape: a minute holds every sample of the drain. */
const asQuery = (expr: string) => expr.replaceAll('$__rate_interval', '1m');

describe('alerts', { skip: !installed('promtool') && MISSING }, () => {
  it('pass promtool check and test rules, and each alert has a test in which it fires', () => {
    for (const args of [
      ['check', 'rules', 'alerts.yml'],
      ['test', 'rules', 'alerts.test.yml'],
    ]) {
      const run = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
      assert.equal(run.status, 0, `promtool ${args.join(' ')}\n${run.stdout}${run.stderr}`);
    }
    const rules = YAML.parse(readFileSync(path.join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    };
    const tests = YAML.parse(readFileSync(path.join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((test) =>
        test.alert_rule_test.filter((rule) => (rule.exp_alerts ?? []).length > 0).map((rule) => rule.alertname),
      ),
    );
    const alerts = rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert));
    assert.ok(alerts.length >= 8);
    assert.deepEqual(
      alerts.filter((alert) => !fired.has(alert)),
      [],
      'every alert fires in a test',
    );
  });
});

describe('the dashboard', { skip: !installed('prometheus') && MISSING }, () => {
  let pipeline: TestPipeline | undefined;
  let worker: ChildProcess | undefined;
  let prometheus: ChildProcess | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'login-etl-prometheus-'));

  after(async () => {
    for (const child of [worker, prometheus]) {
      if (child && child.exitCode === null) {
        await new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        });
      }
    }
    await pipeline?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has data for every query of every panel, from a real Prometheus scraping a worker during a drain', async (t) => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    assert.ok(dashboard.panels.length >= 8);
    pipeline = await createTestPipeline('dashboard');
    await pipeline.send([
      ...readBodies(SAMPLE_DATA_FILE),
      ...syntheticBodies(2_000, { seed: 21, malformedShare: 0.01 }),
    ]);
    const workerAddress = `127.0.0.1:${await freePort()}`;
    worker = startCommand('src/worker.ts', { ...pipeline.env, METRICS_ADDRESS: workerAddress }, 'inherit');
    await waitUntil('the worker ready', async () => (await fetch(`http://${workerAddress}/readyz`)).ok, {
      timeoutMs: 60_000,
    });

    const prometheusAddress = `127.0.0.1:${await freePort()}`;
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      YAML.stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [path.join(PROMETHEUS_DIR, 'alerts.yml')],
        scrape_configs: [{ job_name: 'login-etl-worker', static_configs: [{ targets: [workerAddress] }] }],
      }),
    );
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=${prometheusAddress}`,
      ],
      { stdio: 'ignore' },
    );
    const api = async (query: string, params: Record<string, string> = {}, range = false) => {
      const url = new URL(`http://${prometheusAddress}/api/v1/${range ? 'query_range' : 'query'}`);
      for (const [key, value] of Object.entries({ query, ...params })) url.searchParams.set(key, value);
      const body = (await (await fetch(url)).json()) as {
        status: string;
        error?: string;
        data: { result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
      };
      assert.equal(body.status, 'success', `${query}: ${body.error}`);
      return body.data.result;
    };
    await waitUntil(
      'Prometheus scraping the worker',
      async () => (await api('up{job="login-etl-worker"} == 1')).length === 1,
      {
        timeoutMs: 60_000,
      },
    );

    const start = Date.now() / 1000;
    const summary = await pipeline.drain({ batchSize: 100, concurrency: 4 });
    assert.equal(summary.received, 2_100);
    // Scrapes after the drain's last batch, and a queue depth sample (every 5 s).
    await new Promise((resolve) => setTimeout(resolve, 7_000));

    const empty: string[] = [];
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const result = await api(asQuery(target.expr));
        if (result.length === 0) empty.push(`${panel.title}: ${target.expr}`);
      }
    }
    assert.deepEqual(empty, [], 'every query returns data');

    const picture = process.env.LOGIN_ETL_DASHBOARD_PICTURE;
    if (picture) {
      const end = Date.now() / 1000;
      const panels: PanelSeries[] = [];
      for (const panel of dashboard.panels) {
        const series = [];
        for (const target of panel.targets) {
          const range = { start: String(start - 5), end: String(end), step: '1' };
          for (const result of await api(asQuery(target.expr), range, true)) {
            const label = target.legendFormat.replace(/\{\{(\w+)\}\}/g, (_, name: string) => result.metric[name] ?? '');
            series.push({
              label,
              points: (result.values ?? []).map(([time, value]): [number, number] => [time, Number(value)]),
            });
          }
        }
        panels.push({ title: panel.title, unit: UNIT_LABELS[panel.fieldConfig.defaults.unit] ?? '', series });
      }
      writeFileSync(
        picture,
        dashboardPicture(`login-etl dashboard: one worker draining ${summary.received} messages`, panels),
      );
      t.diagnostic(`dashboard picture: ${picture}`);
    }
  });
});
