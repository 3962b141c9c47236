import type { Database, Statement } from 'sql.js';
import type { RunEvent } from '../../common/events';
import type { RecordPosition } from './journal';
import type { JournalEvent } from './store';

/** Index rows written by one statement: one INSERT per record would cost most of the projection's time. */
const EVENT_ROWS_PER_INSERT = 64;

const SQL = {
  event: 'INSERT INTO events (seq, run, segment, offset) VALUES (?, ?, ?, ?)',
  events: `INSERT INTO events (seq, run, segment, offset) VALUES ${Array(EVENT_ROWS_PER_INSERT).fill('(?, ?, ?, ?)').join(', ')}`,
  definition: 'INSERT OR IGNORE INTO definitions (hash, source) VALUES (?, ?)',
  runStarted: `INSERT INTO runs (id, workflow, file, status, definition_hash, started_at, inputs) VALUES (?, ?, ?, 'running', ?, ?, ?)`,
  runEnded: 'UPDATE runs SET status = ?, ended_at = ?, outputs = ?, error = ? WHERE id = ?',
  breaker: 'INSERT OR REPLACE INTO breakers (server, state, since, reason) VALUES (?, ?, ?, ?)',
} as const;

type StatementName = keyof typeof SQL;

/** Applies journaled events to the queryable tables. The same code runs live and on replay, so both give the same state. */
export class Projection {
  private statements = new Map<StatementName, Statement>();
  /** Each run's row number, by id: events name their run by it. */
  private readonly runNumbers = new Map<string, number>();
  /** Index rows not yet inserted (seq, run, segment, offset, …): written by flush(), in the caller's transaction. */
  private eventRows: number[] = [];

  constructor(private readonly db: Database) {
    const rows = db.exec('SELECT num, id FROM runs')[0]?.values ?? [];
    for (const [num, id] of rows) this.runNumbers.set(String(id), Number(num));
  }

  /** The row number of a run, if the database holds it. */
  runNumber(runId: string): number | undefined {
    return this.runNumbers.get(runId);
  }

  /** Forgets prepared statements; sql.js frees them when it exports the database. */
  reset(): void {
    this.statements.clear();
  }

  /** Projects one journal record: its events (of one run) update the run and its position is indexed; a server event updates its breaker. */
  apply(events: JournalEvent[], position: RecordPosition): void {
    const first = events[0];
    if (!('runId' in first)) {
      this.run('breaker', [first.server, first.state, first.time, first.reason]);
      return;
    }
    for (const event of events as RunEvent[]) this.applyToRun(event);
    const run = this.runNumbers.get(first.runId);
    // Events of a run whose start is not in the store have nothing to attach to; the engine never writes such.
    if (run !== undefined) this.eventRows.push(first.seq, run, position.segment, position.offset);
  }

  /** Writes the index rows of the records applied since the last flush; call it before the transaction commits. */
  flush(): void {
    const rows = this.eventRows;
    const chunk = EVENT_ROWS_PER_INSERT * 4;
    let at = 0;
    for (; at + chunk <= rows.length; at += chunk) this.run('events', rows.slice(at, at + chunk));
    for (; at < rows.length; at += 4) this.run('event', rows.slice(at, at + 4));
    this.eventRows = [];
  }

  private applyToRun(event: RunEvent): void {
    const { runId, time } = event;
    switch (event.type) {
      case 'WorkflowStarted':
        if (event.source !== undefined) this.run('definition', [event.definitionHash, event.source]);
        this.run('runStarted', [runId, event.workflow, event.file, event.definitionHash, time, JSON.stringify(event.inputs)]);
        this.runNumbers.set(runId, Number(this.db.exec('SELECT last_insert_rowid()')[0].values[0][0]));
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
