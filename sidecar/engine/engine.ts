import type { RunEvent, RunEventBody } from '../../common/events';
import type { SourceFile } from '../../common/source';
import type { WorkflowDefinition } from '../../common/workflow/model';
import type { ServerSpec } from '../mcp/connection';
import type { McpPool } from '../mcp/pool';
import type { Store } from '../store/store';
import { newRunId } from './ids';
import { RunExecution, type RunResult } from './run';

/** A run's progress report from a tool: ephemeral, for live displays only. */
export interface ProgressNotice {
  runId: string;
  step: string;
  index?: number;
  progress: number;
  total?: number;
  message?: string;
}

export interface StartRequest {
  file: SourceFile;
  /** The path recorded with the run. */
  filePath: string;
  workflow: WorkflowDefinition;
  definitionHash: string;
  /** Inputs already checked against the workflow's declarations. */
  inputs: Record<string, unknown>;
  /** Every server the steps use, resolved. */
  servers: Map<string, ServerSpec>;
}

/** Runs workflows: each run's events go to the store, whose durability gates every step. */
export class Engine {
  private readonly runs = new Map<string, RunExecution>();
  private readonly progressListeners = new Set<(notice: ProgressNotice) => void>();

  constructor(
    private readonly store: Store,
    private readonly pool: McpPool,
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
  ) {}

  /** Starts a run; resolves with its id and completion once WorkflowStarted is durable. */
  async start(request: StartRequest): Promise<{ runId: string; done: Promise<RunResult> }> {
    const runId = newRunId();
    const run = new RunExecution(
      { runId, file: request.file, filePath: request.filePath, workflow: request.workflow, definitionHash: request.definitionHash, inputs: request.inputs, servers: request.servers },
      {
        append: (id: string, body: RunEventBody, urgency?: 'now' | 'soon'): Promise<RunEvent> => this.store.append(id, body, urgency),
        appendAll: (id: string, bodies: RunEventBody[]): Promise<RunEvent[]> => this.store.appendAll(id, bodies),
        knowsDefinition: (hash) => this.store.knowsDefinition(hash),
        connection: (spec) => this.pool.connection(spec),
        progress: (id, step, index, progress, total, message) => {
          const notice: ProgressNotice = { runId: id, step, progress, ...(index !== undefined && { index }), ...(total !== undefined && { total }), ...(message !== undefined && { message }) };
          for (const listener of this.progressListeners) listener(notice);
        },
        env: this.env,
      },
    );
    this.runs.set(runId, run);
    const done = run.done.finally(() => this.runs.delete(runId));
    done.catch(() => undefined);
    try {
      await run.begin();
    } catch (error) {
      this.runs.delete(runId);
      throw error;
    }
    return { runId, done };
  }

  /** Cancels a run in progress; false when no such run is in progress here. */
  cancel(runId: string, reason: string): boolean {
    const run = this.runs.get(runId);
    run?.cancel(reason);
    return run !== undefined;
  }

  /** Cancels every run in progress. */
  cancelAll(reason: string): void {
    for (const run of this.runs.values()) run.cancel(reason);
  }

  /** Calls `listener` with tools' progress reports; returns the unsubscribe function. */
  onProgress(listener: (notice: ProgressNotice) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }
}
