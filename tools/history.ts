import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { isEncrypted } from '../src/temporal/encryption-codec';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * Every event of every run of a workflow id (continue-as-new chains them), as the server stores them: payloads
 * still encoded. Read 50 events a page: a run of large batches is many MB.
 */
export async function* historyEvents(
  client: Client,
  workflowId: string,
): AsyncGenerator<{ runId: string; events: HistoryEvent[] }> {
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId, runId: execution.runId },
        maximumPageSize: 50,
        nextPageToken,
      });
      yield { runId: execution.runId, events: page.history?.events ?? [] };
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
  }
}

/**
 * Every run's history of a workflow id as one text to search: as the server stores it (payloads encrypted), and
 * every encrypted payload decoded, as anyone who may call the codec server would read it.
 */
export async function allHistoryText(client: Client, workflowId: string, codec: PayloadCodec): Promise<string> {
  const parts: string[] = [];
  for await (const { events } of historyEvents(client, workflowId)) {
    parts.push(Buffer.from(temporal.api.history.v1.History.encode({ events }).finish()).toString('latin1'));
    // Search attributes are plain by design (the server indexes them); the raw history above holds them already.
    const decoded = await codec.decode(payloadsIn(events).filter(isEncrypted));
    parts.push(...decoded.map((payload) => Buffer.from(payload.data ?? []).toString('utf8')));
  }
  return parts.join('\n');
}

/** Every payload anywhere in the events: inputs, results, failures' details, heartbeats, markers. */
export function payloadsIn(value: unknown, found: Payload[] = []): Payload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const candidate = value as Payload;
  if (candidate.data instanceof Uint8Array && candidate.metadata && typeof candidate.metadata === 'object') {
    found.push(candidate);
    return found;
  }
  for (const child of Object.values(value)) payloadsIn(child, found);
  return found;
}
