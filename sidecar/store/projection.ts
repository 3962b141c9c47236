import type { Database, Statement } from 'sql.js';
import type { RunEvent } from '../../common/events';

const SQL = {
  event: 'INSERT INTO events (seq, run_id, type, time, data) VALUES (?, ?, ?, ?, ?)',
  definition: 'INSERT OR IGNORE INTO definitions (hash, source) VALUES (?, ?)',
  runStarted: `INSERT INTO runs (id, workflow, file, status, definition_hash, started_at, inputs) VALUES (?, ?, ?, 'running', ?, ?, ?)`,
  runEnded: 'UPDATE runs SET status = ?, ended_at = ?, outputs = ?, error = ? WHERE id = ?',
  stepPending: `INSERT INTO steps (run_id, step_id, position, status) VALUES (?, ?, ?, 'pending')`,
  stepScheduled: `UPDATE steps SET status = 'running', server = ?, tool = ?, attempts = attempts + 1, started_at = coalesce(started_at, ?) WHERE run_id = ? AND step_id = ?`,
  stepFannedOut: `UPDATE steps SET status = 'running', items = ?, started_at = coalesce(started_at, ?) WHERE run_id = ? AND step_id = ?`,
  stepEnded: 'UPDATE steps SET status = ?, ended_at = ?, output = ?, outputs = ?, error = ?, reason = ? WHERE run_id = ? AND step_id = ?',
  itemScheduled: `INSERT INTO step_items (run_id, step_id, idx, status, attempts, started_at) VALUES (?, ?, ?, 'running', 1, ?)
    ON CONFLICT (run_id, step_id, idx) DO UPDATE SET status = 'running', attempts = attempts + 1`,
  itemScheduledStep: `UPDATE steps SET server = ?, tool = ?, attempts = max(attempts, ?) WHERE run_id = ? AND step_id = ?`,
  itemEnded: 'UPDATE step_items SET status = ?, ended_at = ?, output = ?, error = ? WHERE run_id = ? AND step_id = ? AND idx = ?',
  itemDone: 'UPDATE steps SET items_done = items_done + 1 WHERE run_id = ? AND step_id = ?',
  foreachOutput: `SELECT '[' || group_concat(coalesce(output, 'null'), ',') || ']' FROM (SELECT output FROM step_items WHERE run_id = ? AND step_id = ? ORDER BY idx)`,
} as const;

type StatementName = keyof typeof SQL;

/** Applies journaled events to the queryable tables. The same code runs live and on replay, so both give the same state. */
export class Projection {
  private statements = new Map<StatementName, Statement>();

  constructor(private readonly db: Database) {}

  /** Forgets prepared statements; sql.js frees them when it exports the database. */
  reset(): void {
    this.statements.clear();
  }

  /** Projects one event. */
  apply(event: RunEvent): void {
    const { seq, runId, type, time, ...rest } = event;
    this.run('event', [seq, runId, type, time, JSON.stringify(rest)]);
    switch (event.type) {
      case 'WorkflowStarted':
        this.run('definition', [event.definitionHash, event.source]);
        this.run('runStarted', [runId, event.workflow, event.file, event.definitionHash, time, JSON.stringify(event.inputs)]);
        event.steps.forEach((step, position) => this.run('stepPending', [runId, step, position]));
        break;
      case 'StepScheduled':
        if (event.index === undefined) {
          this.run('stepScheduled', [event.server, event.tool, time, runId, event.step]);
        } else {
          this.run('itemScheduled', [runId, event.step, event.index, time]);
          this.run('itemScheduledStep', [event.server, event.tool, event.attempt, runId, event.step]);
        }
        break;
      case 'StepFannedOut':
        this.run('stepFannedOut', [event.count, time, runId, event.step]);
        break;
      case 'StepCompleted':
        if (event.index !== undefined) {
          this.run('itemEnded', ['completed', time, json(event.output), null, runId, event.step, event.index]);
          this.run('itemDone', [runId, event.step]);
        } else {
          const output = 'output' in event ? json(event.output) : this.foreachOutput(runId, event.step);
          this.run('stepEnded', ['completed', time, output, json(event.outputs), null, null, runId, event.step]);
        }
        break;
      case 'StepFailed':
        if (event.index !== undefined) {
          this.run('itemEnded', ['failed', time, null, JSON.stringify(event.error), runId, event.step, event.index]);
        }
        this.run('stepEnded', ['failed', time, null, null, JSON.stringify(event.error), null, runId, event.step]);
        break;
      case 'StepSkipped':
        this.run('stepEnded', ['skipped', time, null, null, null, event.reason, runId, event.step]);
        break;
      case 'WorkflowCompleted':
        this.run('runEnded', ['completed', time, JSON.stringify(event.outputs), null, runId]);
        break;
      case 'WorkflowFailed':
        this.run('runEnded', ['failed', time, null, JSON.stringify(event.error), runId]);
        break;
      case 'WorkflowCancelled':
        this.run('runEnded', ['cancelled', time, null, JSON.stringify({ type: 'Cancelled', message: event.reason }), runId]);
        break;
    }
  }

  private foreachOutput(runId: string, step: string): string {
    const statement = this.statement('foreachOutput');
    try {
      statement.bind([runId, step]);
      statement.step();
      return String(statement.get()[0] ?? '[]');
    } finally {
      statement.reset();
    }
  }

  private run(name: StatementName, params: Array<string | number | null>): void {
    this.statement(name).run(params);
  }

  private statement(name: StatementName): Statement {
    let statement = this.statements.get(name);
    if (!statement) {
      statement = this.db.prepare(SQL[name]);
      this.statements.set(name, statement);
    }
    return statement;
  }
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
