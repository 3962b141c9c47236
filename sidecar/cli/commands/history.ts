import { CommandFailure, EXIT } from '../errors';
import { describeEvent } from '../progress';
import { openStore, workspaceFor, type GlobalOptions } from '../session';
import { clock, Style, table } from '../style';

/** `openconductor runs history <id>`: a run's event log, as journaled. */
export async function historyCommand(id: string, options: { json: boolean }, global: GlobalOptions): Promise<number> {
  const store = await openStore(workspaceFor(undefined, global), 'reader', 'openconductor runs history');
  try {
    const ids = store.getRun(id) ? [id] : id.length >= 4 ? store.findRunIds(id) : [];
    if (ids.length !== 1) {
      throw new CommandFailure(ids.length > 1 ? `run id '${id}' is ambiguous: ${ids.join(', ')}.` : `no run '${id}' in this workspace. List runs with: openconductor runs list`);
    }
    const events = store.events(ids[0]);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
      return EXIT.ok;
    }
    const style = Style.for(process.stdout, global.color);
    const rows = events.map((e) => [String(e.seq), clock(e.time), e.type, describeEvent(e) ?? '']);
    process.stdout.write(`${table(['SEQ', 'TIME', 'EVENT', 'DETAILS'], rows, style)}\n`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
