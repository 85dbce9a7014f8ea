import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import type { Keyring } from '../core/keys';
import type { Pace } from '../core/pace';
import type { OperatorPublicKey } from '../core/operator-seal';
import type { KeyVersionCache } from '../pii/key-state';
import type { SqsGate } from '../sqs/gate';
import type { HeldBatches } from './held-batches';

/** The clients every activity is built from; the worker, the direct loop and the tests each make one. */
export interface ActivityDeps {
  sqs: SQSClient;
  /** The adaptive limit every call of `sqs` passes: its pace sizes the batches. */
  sqsGate: SqsGate;
  /** Resolved once and remembered; resolution failures are retried with the activity. */
  queueUrl: () => Promise<string>;
  pool: Pool;
  keyring: Keyring;
  /** Vault values and quarantined bodies are sealed to it; the worker cannot open them. */
  sealTo: OperatorPublicKey;
  keyVersion: KeyVersionCache;
  /** Batches this worker received and holds between their steps. */
  held: HeldBatches;
  /** WORKER_MAX_MESSAGES_PER_SECOND: every receive call of this worker reserves its messages here first. */
  receivePace?: Pace;
}
