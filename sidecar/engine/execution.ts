import type { RunEvent, RunEventBody } from '../../common/events';
import type { RunDetails } from '../../common/runs';
import type { ServerSpec } from '../mcp/connection';
import type { RunEnvironment, RunResult } from './run';

/**
 * One run executing in the engine, whatever its language: a YAML workflow (RunExecution) or a code-first one.
 * Its state is the fold of its journaled events; the engine hands it each durable event in journal order.
 */
export interface Execution {
  readonly runId: string;
  /** Settles when the run has ended and its last event is durable. */
  readonly done: Promise<RunResult>;
  /** Applies a durable event of this run (the engine calls it for every one, in order). */
  apply(event: RunEvent): void;
  /** Starts a new run: WorkflowStarted is durable before this resolves. */
  begin(): Promise<void>;
  /** Continues a run rebuilt from its history (already applied). */
  resume(): Promise<void>;
  cancel(reason: string): Promise<void>;
  decide(step: string, approved: boolean, comment?: string): Promise<void>;
  signal(name: string, payload: unknown): Promise<void>;
  /** Whether the run has nothing to do but wait for an approval, a signal or a timer. */
  isWaitingOnly(): boolean;
  details(): RunDetails;
  /** A held-back StepScheduled of this run came due: journal it (see RunEnvironment.holdBack). */
  released(body: RunEventBody): void;
}

/** A workflow definition ready to run: parsed or compiled, validated, its servers resolved. */
export interface PreparedDefinition {
  name: string;
  /** The path recorded with the run. */
  filePath: string;
  language: 'yaml' | 'ts';
  /** sha256 of `source`: the version a run is pinned to. */
  definitionHash: string;
  /** What is pinned in the store with the first run of this version, and what a resumed run is rebuilt from. */
  source: string;
  /** Every server the workflow may call, resolved (with secrets: never journaled). */
  servers: Map<string, ServerSpec>;
  /** Creates the execution of one run of this definition. */
  execute(runId: string, inputs: Record<string, unknown>, env: RunEnvironment): Execution;
}

/** Settles a run's `done` promise from inside the run (Node 20 has no Promise.withResolvers). */
export class RunSettlement {
  resolve!: (result: RunResult) => void;
  reject!: (error: unknown) => void;
  readonly promise = new Promise<RunResult>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
}

/** The WorkflowStarted of a new run: the definition's source goes with it unless the store already holds that version. */
export function workflowStarted(
  definition: { workflow: string; filePath: string; definitionHash: string; language: 'yaml' | 'ts'; source: string },
  inputs: Record<string, unknown>,
  steps: string[],
  env: Pick<RunEnvironment, 'knowsDefinition'>,
): RunEventBody {
  const { workflow, filePath, definitionHash, language, source } = definition;
  return { type: 'WorkflowStarted', workflow, file: filePath, definitionHash, language, ...(!env.knowsDefinition(definitionHash) && { source }), inputs, steps };
}

