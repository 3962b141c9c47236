import type { Database, Statement } from 'sql.js';
import type { RunEvent } from '../../common/events';

const SQL = {
  event: 'INSERT INTO events (seq, run_id, type, time, data) VALUES (?, ?, ?, ?, ?)',
  definition: 'INSERT OR IGNORE INTO definitions (hash, source) VALUES (?, ?)',
  runStarted: `INSERT INTO runs (id, workflow, file, status, definition_hash, started_at, inputs) VALUES (?, ?, ?, 'running', ?, ?, ?)`,
  runEnded: 'UPDATE runs SET status = ?, ended_at = ?, outputs = ?, error = ? WHERE id = ?',
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

  /** Projects one event; `record` is its journal record (JSON), kept whole as the event's data. */
  apply(event: RunEvent, record: string): void {
    const { seq, runId, type, time } = event;
    this.run('event', [seq, runId, type, time, record]);
    switch (event.type) {
      case 'WorkflowStarted':
        if (event.source !== undefined) this.run('definition', [event.definitionHash, event.source]);
        this.run('runStarted', [runId, event.workflow, event.file, event.definitionHash, time, JSON.stringify(event.inputs)]);
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
      default:
        break;
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
