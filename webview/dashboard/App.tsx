import { type KeyboardEvent, memo, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { DashboardRequest } from '../../common/dashboard';
import type { RunSummary, StepDetails } from '../../common/runs';
import { post, saveState, savedState } from '../shared/host';
import { clock, elapsed, GLYPHS, progress, runActivity, stepDetail } from './format';
import type { DashboardStore } from './store';

type StatusFilter = 'all' | 'running' | 'failed' | 'waiting';

/** What the page keeps while hidden: the filter and which runs are open. */
interface ViewState {
  filter: string;
  status: StatusFilter;
  open: string[];
  closed: string[];
}

const send = (request: DashboardRequest) => post(request);

/** The dashboard: a header with counts and filters, then one block per run (its row, and its steps when open). */
export function App({ store }: { store: DashboardStore }) {
  useSyncExternalStore(store.subscribe, store.getVersion);
  const initial = savedState<ViewState>();
  const [filter, setFilter] = useState(initial?.filter ?? '');
  const [status, setStatus] = useState<StatusFilter>(initial?.status ?? 'all');
  const [open, setOpen] = useState(() => new Set(initial?.open ?? []));
  const [closed, setClosed] = useState(() => new Set(initial?.closed ?? []));
  const watched = useRef(new Set<string>());
  const runs = store.runs();
  const now = useNow(runs.some((r) => r.status === 'running'));

  useEffect(() => saveState<ViewState>({ filter, status, open: [...open], closed: [...closed] }), [filter, status, open, closed]);

  const shown = runs.filter((run) => matches(store, run, filter, status));
  const running = runs.filter((r) => r.status === 'running').length;
  const failed = runs.filter((r) => r.status === 'failed').length;
  const approvals = store.approvals();

  // Runs seen in flight are open (and stay open when they end) unless closed; the others are closed unless opened.
  for (const run of runs) if (run.status === 'running') watched.current.add(run.id);
  const isOpen = (run: RunSummary) => !closed.has(run.id) && (open.has(run.id) || watched.current.has(run.id));
  const toggle = (run: RunSummary) => {
    const opening = !isOpen(run);
    if (opening && !store.details(run.id)) send({ type: 'details', runId: run.id });
    const flip = (set: Set<string>, add: boolean) => {
      const copy = new Set(set);
      if (add) copy.add(run.id);
      else copy.delete(run.id);
      return copy;
    };
    setOpen((o) => flip(o, opening));
    setClosed((c) => flip(c, !opening));
  };

  return (
    <div className="dashboard" data-stream={store.direct ? 'direct' : 'relayed'}>
      <header className="bar">
        <span
          className={`sidecar sidecar-${store.sidecar}`}
          title={`The sidecar that runs workflows. Events ${store.direct ? 'come straight from it' : 'are relayed by the extension'}.`}
        >
          ● sidecar {store.sidecar}
        </span>
        <span className="count" data-count="running">
          {GLYPHS.running} {running} running
        </span>
        <span className={`count${approvals ? ' attention' : ''}`} data-count="approvals">
          {GLYPHS.waiting} {approvals} waiting for approval
        </span>
        <span className="count" data-count="failed">
          {GLYPHS.failed} {failed} failed
        </span>
        <span className="grow" />
        <select aria-label="Show runs" value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)}>
          <option value="all">all runs</option>
          <option value="running">running</option>
          <option value="waiting">waiting</option>
          <option value="failed">failed</option>
        </select>
        <input type="search" aria-label="Filter runs" placeholder="filter: workflow, run id, step, server…" value={filter} onChange={(e) => setFilter(e.target.value)} />
        {store.trusted && (
          <button type="button" onClick={() => send({ type: 'runWorkflow' })}>
            Run Workflow…
          </button>
        )}
      </header>
      {!store.loaded ? (
        <p className="empty">Connecting to the sidecar…</p>
      ) : runs.length === 0 ? (
        <p className="empty">
          No runs yet.{' '}
          {store.trusted ? (
            <button type="button" className="link" onClick={() => send({ type: 'runWorkflow' })}>
              Run a workflow
            </button>
          ) : (
            'This workspace is not trusted: runs can be browsed, not started.'
          )}
        </p>
      ) : (
        <table className="runs" role="treegrid" aria-label="Runs" onKeyDown={moveFocus}>
          <thead>
            <tr>
              <th className="glyph" aria-label="status" />
              <th className="name">workflow / step</th>
              <th className="id">run / tool</th>
              <th className="started">started</th>
              <th className="num">time</th>
              <th className="progress">progress</th>
              <th className="detail">activity</th>
              <th className="actions" aria-label="actions" />
            </tr>
          </thead>
          {shown.map((run) => (
            <RunBlock key={run.id} store={store} run={run} version={store.runVersion(run.id)} open={isOpen(run)} now={run.status === 'running' ? now : 0} trusted={store.trusted} onToggle={toggle} />
          ))}
        </table>
      )}
      {store.loaded && runs.length > 0 && shown.length === 0 && <p className="empty">No run matches the filter.</p>}
    </div>
  );
}

interface RunBlockProps {
  store: DashboardStore;
  run: RunSummary;
  /** Changes whenever the run does: a memo key. */
  version: number;
  open: boolean;
  /** The clock, for runs in flight (0 for the others, so they do not render each second). */
  now: number;
  trusted: boolean;
  onToggle: (run: RunSummary) => void;
}

/** A run's row and, when open, its steps. */
const RunBlock = memo(function RunBlock({ store, run, open, now, trusted, onToggle }: RunBlockProps) {
  const details = store.details(run.id);
  const p = details && progress(details);
  return (
    <tbody className={`run status-${run.status}`} data-run={run.id}>
      <tr className="run-row" data-status={run.status} aria-expanded={open} aria-level={1} tabIndex={0} onClick={() => onToggle(run)} onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), onToggle(run))}>
        <td className="glyph">{GLYPHS[run.status]}</td>
        <td className="name" title={run.workflow}>
          <span className="twisty">{open ? '▾' : '▸'}</span> {run.workflow}
        </td>
        <td className="id" title={run.id}>
          {run.id.slice(0, 8)}
        </td>
        <td>{clock(run.startedAt)}</td>
        <td className="num">{elapsed(run.startedAt, run.endedAt, now || run.endedAt || run.startedAt)}</td>
        <td className="progress">{p ? `${p.bar} ${p.done}/${p.total}` : ''}</td>
        <td className="detail" title={run.error?.message}>
          {runActivity(details, run.error && `${run.error.type}: ${run.error.message}`)}
        </td>
        <td className="actions" onClick={(e) => e.stopPropagation()}>
          {trusted && run.status === 'running' && <Action label="cancel" title="Cancel the run" request={{ type: 'cancel', runId: run.id }} />}
          <Action label="history" title="Open the event history" request={{ type: 'history', runId: run.id }} />
          <Action label="open" title="Open the workflow file" request={{ type: 'open', runId: run.id }} />
          {trusted && run.status !== 'running' && <Action label="re-run" title="Run the workflow again" request={{ type: 'rerun', runId: run.id }} />}
        </td>
      </tr>
      {open && !details && (
        <tr className="step-row">
          <td />
          <td colSpan={7} className="muted">
            loading steps…
          </td>
        </tr>
      )}
      {open &&
        details?.steps.map((step) => (
          <StepRow key={step.id} runId={run.id} step={step} version={store.stepVersion(run.id, step.id)} now={step.endedAt === undefined && step.startedAt !== undefined ? now : 0} trusted={trusted && run.status === 'running'} />
        ))}
    </tbody>
  );
});

interface StepRowProps {
  runId: string;
  /** Folded in place by the store: `version` tells when it changed. */
  step: StepDetails;
  version: number;
  /** The clock, for steps under way (0 for the others, so they do not render each second). */
  now: number;
  trusted: boolean;
}

/** A step's row, rendered again only when the step changed (or ticks, while under way). */
const StepRow = memo(function StepRow({ runId, step, now, trusted }: StepRowProps) {
  const approval = step.status === 'waiting' && step.waiting?.approval;
  const attempts = step.attempts > 1 ? ` ×${step.attempts}` : '';
  return (
    <tr className={`step-row status-${step.status}`} data-step={step.id} data-status={step.status} aria-level={2} tabIndex={-1}>
      <td className="glyph">{GLYPHS[step.status]}</td>
      <td className="name step-name" title={step.id}>
        {step.id}
      </td>
      <td className="tool" title={step.server && `${step.server}/${step.tool ?? ''}`}>
        {step.server ? `${step.server}/${step.tool ?? ''}${attempts}` : attempts}
      </td>
      <td>{step.startedAt ? clock(step.startedAt) : ''}</td>
      <td className="num">{elapsed(step.startedAt, step.endedAt, now || step.endedAt || step.startedAt || 0)}</td>
      <td className="progress">{step.items ? `${step.itemsDone}/${step.items}` : ''}</td>
      <td className="detail" title={stepDetail(step)}>
        {stepDetail(step)}
      </td>
      <td className="actions">
        {approval && trusted && (
          <>
            <Action label="approve" title="Approve this step" request={{ type: 'approve', runId, step: step.id }} />
            <Action label="reject" title="Reject this step" request={{ type: 'reject', runId, step: step.id }} />
          </>
        )}
      </td>
    </tr>
  );
});

function Action({ label, title, request }: { label: string; title: string; request: DashboardRequest }) {
  return (
    <button type="button" className="action" title={title} data-action={request.type} onClick={() => send(request)}>
      {label}
    </button>
  );
}

/** Arrow keys move between the rows (runs and steps), Home and End to the first and last; Enter opens or closes a run. */
function moveFocus(event: KeyboardEvent<HTMLTableElement>): void {
  const rows = Array.from(event.currentTarget.querySelectorAll<HTMLTableRowElement>('tr[aria-level]'));
  const at = rows.indexOf(document.activeElement as HTMLTableRowElement);
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: rows.length - 1 }[event.key];
  if (to === undefined || at < 0 || !rows[to]) return;
  event.preventDefault();
  rows[to].focus();
}

/** Whether a run passes the filters: text over workflow, id, error, steps, servers and tools. */
function matches(store: DashboardStore, run: RunSummary, filter: string, status: StatusFilter): boolean {
  const details = store.details(run.id);
  if (status === 'running' && run.status !== 'running') return false;
  if (status === 'failed' && run.status !== 'failed') return false;
  if (status === 'waiting' && !details?.steps.some((s) => s.status === 'waiting')) return false;
  const text = filter.trim().toLowerCase();
  if (!text) return true;
  const haystack = [run.workflow, run.id, run.error?.message ?? '', ...(details?.steps.flatMap((s) => [s.id, s.server ?? '', s.tool ?? '', s.error?.message ?? '']) ?? [])];
  return haystack.some((h) => h.toLowerCase().includes(text));
}

/** The time now, rendering again each second while some run is in flight (for live durations). */
function useNow(ticking: boolean): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return Date.now();
}
