import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Host } from '../../sidecar/host/host';
import { openWorkspace } from '../../sidecar/workspace/workspace';
import { ROOT } from './cli';

export const RECORDER = path.join(ROOT, 'test', 'fixtures', 'servers', 'meta-recorder.mjs');
export const EVERYTHING = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');

/** A call the meta-recorder server saw. */
export interface Recorded {
  value: string;
  meta: Record<string, unknown> | null;
  pid: number;
  time: number;
}

/** A scratch workspace whose workflows can declare the recorder (`rec`) and server-everything (`everything`). */
/** The steps of a workflow of two echo calls, one after the other (for TestWorkspace.workflow). */
export const TWO_ECHOES = `steps:
  - id: one
    server: everything
    tool: echo
    with: { message: one }
  - id: two
    needs: one
    server: everything
    tool: echo
    with: { message: two }
`;

export class TestWorkspace {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-ws-'));
  readonly recordFile = path.join(this.dir, 'calls.jsonl');

  /** The `servers:` block declaring `rec` and `everything`, and any more given as YAML lines. */
  servers(more: string[] = []): string {
    return [
      'servers:',
      ...more,
      '  rec:',
      `    command: ${JSON.stringify(process.execPath)}`,
      `    args: [${JSON.stringify(RECORDER)}]`,
      `    env: { RECORD_FILE: ${JSON.stringify(this.recordFile)} }`,
      '  everything:',
      `    command: ${JSON.stringify(process.execPath)}`,
      `    args: [${JSON.stringify(EVERYTHING)}]`,
    ].join('\n');
  }

  /** Writes a workflow file (its servers: block added, with `more` servers) and returns its path. */
  workflow(name: string, body: string, more: string[] = []): string {
    const file = path.join(this.dir, `${name}.workflow.yaml`);
    fs.writeFileSync(file, `name: ${name}\n${this.servers(more)}\n${body}`);
    return file;
  }

  /** Opens a host over this workspace (as the CLI or the sidecar does). */
  open(): Promise<Host> {
    return Host.open({ workspace: openWorkspace(this.dir), command: 'test', version: 'test' });
  }

  /** Every call the recorder saw. */
  calls(): Recorded[] {
    return fs.existsSync(this.recordFile)
      ? fs
          .readFileSync(this.recordFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Recorded)
      : [];
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A fresh workspace and a host over it for each test of the calling describe block; the host is closed and the workspace removed after each. */
export function hostPerTest(): { ws: TestWorkspace; host: Host } {
  const current = {} as { ws: TestWorkspace; host: Host };
  beforeEach(async () => {
    current.ws = new TestWorkspace();
    current.host = await current.ws.open();
  });
  afterEach(async () => {
    await current.host.close();
    current.ws.remove();
  });
  return current;
}
