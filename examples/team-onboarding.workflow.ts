// A code-first workflow: a saga written with try/catch. It writes a welcome note for every newcomer in parallel
// (server-everything), records the team in the memory knowledge graph one entity at a time, asks a person before
// linking them, and undoes what it recorded when the answer is no or a later call fails. Run it with
//   openconductor run examples/team-onboarding.workflow.ts
// then approve from another terminal (or the editor):
//   openconductor approve <run> link
// Durable by replay: kill the process while it waits, run `openconductor runs resume <run>`, and it carries on
// where it was without calling anything twice.
import { workflow, WorkflowError } from 'openconductor/workflow';

interface Input {
  team: string;
  people: string[];
  /** Ask a person before linking the newcomers to the team (else link at once). */
  review: boolean;
}

export default workflow(
  {
    name: 'team-onboarding',
    description: 'Welcome newcomers in parallel, record them in the memory graph, link them once approved; undo on rejection or failure.',
    inputs: {
      team: { type: 'string', description: 'The team they join', default: 'Analytical Engine' },
      people: { type: 'array', description: 'The newcomers', default: ['Ada Lovelace', 'Charles Babbage', 'Luigi Menabrea'] },
      review: { type: 'boolean', description: 'Ask before linking them', default: true },
    },
    // memory and everything come from .vscode/mcp.json.
    defaults: { timeout: '30s', retry: { maximumAttempts: 3, initialInterval: '500ms' } },
  },
  async (ctx, input: Input) => {
    // Fan out: one call per person, all at once; the results come back in the order of the list.
    const notes = await ctx.parallel(input.people.map((person) => () => ctx.call<string>('everything', 'echo', { message: `Welcome to ${input.team}, ${person}!` })));

    // The saga: every entity this run creates is remembered, to be deleted again if the run does not go through
    // (create_entities answers with the entities it created: one already in the graph is not ours to delete).
    // server-memory rewrites its whole file on every call, so these calls go one at a time.
    const recorded: string[] = [];
    let undone = false;
    const undo = async (): Promise<void> => {
      if (undone || recorded.length === 0) return;
      undone = true;
      await ctx.call('memory', 'delete_entities', { entityNames: [...recorded].reverse() }, { id: 'undo' });
    };
    const create = async (name: string, entityType: string, observation: string): Promise<void> => {
      const created = await ctx.call<{ entities: Array<{ name: string }> }>('memory', 'create_entities', { entities: [{ name, entityType, observations: [observation] }] });
      recorded.push(...created.entities.map((e) => e.name));
    };
    try {
      await create(input.team, 'team', `onboarding run ${ctx.runId}`);
      for (const [i, person] of input.people.entries()) await create(person, 'person', String(notes[i]).replace(/^Echo: /, ''));

      if (input.review) {
        const decision = await ctx.approval({ id: 'link', message: `Link ${input.people.length} newcomers to ${input.team}?`, timeout: '1h' });
        if (!decision.approved) {
          await undo();
          return { linked: false, undone: recorded.length, reason: decision.comment ?? (decision.by === 'timeout' ? 'nobody decided within the hour' : 'rejected') };
        }
      }

      const relations = input.people.map((person) => ({ from: person, to: input.team, relationType: 'member of' }));
      await ctx.call('memory', 'create_relations', { relations }, { id: 'link-members' });
      const graph = await ctx.call<{ entities: Array<{ name: string }>; relations: unknown[] }>('memory', 'open_nodes', { names: [input.team, ...input.people] });
      return { linked: true, team: input.team, members: graph.entities.map((e) => e.name).filter((name) => name !== input.team), relations: graph.relations.length };
    } catch (error) {
      // A call failed for good (after its retries): undo, then fail the run with the original error.
      await undo();
      if (error instanceof WorkflowError) throw new WorkflowError(error.type, `onboarding undone: ${error.message}`, { ...(error.step && { step: error.step }) });
      throw error;
    }
  },
);
