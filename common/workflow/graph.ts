import { contextReferences } from '../expressions';
import type { Range } from '../source';
import type { StepDefinition, WorkflowDefinition } from './model';
import { expressionSites, type ExpressionSite } from './template-walk';

/** Why a step waits for another: listed in `needs`, or read by one of its expressions. */
export interface Dependency {
  step: string;
  range: Range;
  via: 'needs' | 'expression';
}

/**
 * The expressions a step evaluates while it runs: its condition, list, arguments, approval message, wait time and
 * outputs. Its compensation is not among them (see compensationExpressionSites).
 */
export function stepExpressionSites(step: StepDefinition): ExpressionSite[] {
  return [
    ...expressionSites(step.if),
    ...expressionSites(step.foreach),
    ...expressionSites(step.with),
    ...expressionSites(step.approval?.message),
    ...expressionSites(step.wait?.until),
    ...expressionSites(step.outputs),
  ];
}

/**
 * The expressions of a step's compensation. They run after the run has failed or been cancelled, so the steps they
 * read are not dependencies: a step that is read there may never have run (its output is then null).
 */
export function compensationExpressionSites(step: StepDefinition): ExpressionSite[] {
  return expressionSites(step.compensate?.with);
}

/** Each step's dependencies: its `needs` plus every other step its expressions read through `steps.<id>`. */
export function stepDependencies(workflow: WorkflowDefinition): Map<string, Dependency[]> {
  const result = new Map<string, Dependency[]>();
  for (const step of workflow.steps) {
    const deps: Dependency[] = step.needs.map((n) => ({ step: n.name, range: n.range, via: 'needs' as const }));
    for (const site of stepExpressionSites(step)) {
      if (!site.expr) continue;
      for (const ref of contextReferences(site.expr)) {
        if (ref.context !== 'steps' || ref.path.length === 0 || ref.path[0] === step.id) continue;
        deps.push({
          step: ref.path[0],
          range: site.range(ref.start, ref.end),
          via: 'expression',
        });
      }
    }
    result.set(step.id, deps);
  }
  return result;
}

/** Each step's distinct prerequisite steps, by id: what a step waits for before it can run. */
export function stepNeeds(workflow: WorkflowDefinition): Map<string, string[]> {
  return new Map([...stepDependencies(workflow)].map(([id, deps]) => [id, [...new Set(deps.map((d) => d.step))]]));
}

/** The names of the servers a workflow's steps and compensations call, each once. */
export function calledServers(workflow: WorkflowDefinition): string[] {
  return [...new Set(workflow.steps.flatMap((s) => (s.kind === 'call' ? [s.server.name, ...(s.compensate ? [s.compensate.server.name] : [])] : [])))];
}

/** The cycles among steps, each as the list of step ids along it (first id repeated at the end) and the dependency that closes it. */
export function findCycles(dependencies: Map<string, Dependency[]>): Array<{ path: string[]; closing: Dependency }> {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles: Array<{ path: string[]; closing: Dependency }> = [];
  const visit = (id: string): void => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of dependencies.get(id) ?? []) {
      if (!dependencies.has(dep.step)) continue;
      const s = state.get(dep.step);
      if (s === 'visiting') {
        cycles.push({ path: [...stack.slice(stack.indexOf(dep.step)), dep.step], closing: dep });
      } else if (s === undefined) {
        visit(dep.step);
      }
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of dependencies.keys()) if (!state.has(id)) visit(id);
  return cycles;
}
