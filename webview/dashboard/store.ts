import { type DashboardMessage, FRAME_MS } from '../../common/dashboard';
import type { RunEvent } from '../../common/events';
import { LiveRuns } from '../../common/live-runs';
import type { RunDetails, RunSummary } from '../../common/runs';
import { StreamGate } from '../../common/stream-gate';


/**
 * The dashboard's copy of the runs: the extension's messages (and the sidecar's events, read directly) folded with
 * the same LiveRuns the extension uses. Each
 * run and step has a version that changes with it, so that only its rows render again; and the page renders at most
 * once per frame, however many events a burst brings (the first change after a quiet frame renders at once).
 */
export class DashboardStore {
  private live = new LiveRuns();
  private readonly gate = new StreamGate();
  private source?: EventSource;
  private readonly versions = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private frame = 0;
  private renderedAt = -Infinity;
  /** Changes with every message: what React subscribes to. */
  version = 0;
  trusted = false;
  sidecar = 'starting';
  /** A snapshot came: until then the page shows that it is connecting. */
  loaded = false;

  /** Applies a message from the extension. */
  receive(message: DashboardMessage): void {
    switch (message.type) {
      case 'snapshot':
        this.live = new LiveRuns();
        this.versions.clear();
        this.trusted = message.trusted;
        this.sidecar = message.sidecar;
        this.loaded = true;
        this.load(message.runs, message.details);
        this.gate.relayedEvent(message.lastEvent);
        if (message.stream) this.readDirectly(message.stream);
        break;
      case 'list':
        this.load(message.runs, message.details);
        break;
      case 'events':
        for (const event of message.events) this.gate.relayedEvent(event.seq);
        this.fold(message.events);
        break;
      case 'run':
        this.bumpRun(this.live.put(message.run).id);
        break;
      case 'sidecar':
        this.sidecar = message.state;
        break;
    }
    this.changed();
  }

  /**
   * Reads the run events straight from the sidecar as well (Server-Sent Events): they come sooner than the
   * extension's messages, which pass through the extension host and the workbench. The gate says when they may be
   * folded; until then, and whenever the connection is down, the extension's messages alone keep the page current.
   */
  private readDirectly(url: string): void {
    this.source?.close();
    const direct = new EventSource(url);
    this.source = direct;
    direct.addEventListener('hello', (message) => {
      this.gate.hello(Number(JSON.parse((message as MessageEvent<string>).data).after));
      this.changed();
    });
    direct.addEventListener('message', (message) => {
      if (!this.gate.usable) return;
      this.fold(JSON.parse(message.data as string) as RunEvent[]);
      this.changed();
    });
    direct.addEventListener('error', () => {
      this.gate.lost();
      this.changed();
    });
  }

  /** Whether events come straight from the sidecar now (else the extension's messages alone bring them). */
  get direct(): boolean {
    return this.gate.usable;
  }

  /** Folds events into the runs (each once: a copy already folded is stale) and marks their rows to render. */
  private fold(events: RunEvent[]): void {
    for (const event of events) {
      if (this.live.apply(event) !== 'applied') continue;
      this.bump(event.runId);
      if ('step' in event) this.bump(`${event.runId}/${event.step}`);
    }
  }

  private changed(): void {
    this.version++;
    // The first change after a quiet frame renders at once; more within the frame wait for the next one, together.
    if (this.frame) return;
    if (performance.now() - this.renderedAt >= FRAME_MS) return this.notify();
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.notify();
    });
  }

  private notify(): void {
    this.renderedAt = performance.now();
    for (const listener of this.listeners) listener();
  }

  /** Subscribes to changes (React's useSyncExternalStore). */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  runs(): RunSummary[] {
    return this.live.list();
  }

  details(runId: string): RunDetails | undefined {
    return this.live.get(runId);
  }

  /** A number that changes whenever the run does. */
  runVersion(runId: string): number {
    return this.versions.get(runId) ?? 0;
  }

  /** A number that changes whenever the step does. */
  stepVersion(runId: string, step: string): number {
    return this.versions.get(`${runId}/${step}`) ?? 0;
  }

  approvals(): number {
    return this.live.pendingApprovals().length;
  }

  private load(runs: RunSummary[], details: RunDetails[]): void {
    this.live.setList(runs);
    for (const run of details) this.live.put(run);
    for (const run of runs) this.bumpRun(run.id);
  }

  /** A run and all its steps changed (new details). */
  private bumpRun(runId: string): void {
    this.bump(runId);
    for (const step of this.live.get(runId)?.steps ?? []) this.bump(`${runId}/${step.id}`);
  }

  /** A run (by id) or a step (by `runId/step`) changed. */
  private bump(key: string): void {
    this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
  }
}
