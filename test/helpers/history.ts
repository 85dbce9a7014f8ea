import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

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
