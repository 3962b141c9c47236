import { didYouMean } from '../suggest';
import type { InputDefinition, WorkflowDefinition } from './model';
import { inputValueProblem } from './validate';

/** Input values as given: typed (from a JSON file or an API) or as text (from the command line), text winning. */
export interface GivenInputs {
  typed?: Record<string, unknown>;
  text?: Record<string, string>;
}

/** Checks given inputs against the workflow's declarations: converts text to the declared type, applies defaults, reports every problem. */
export function resolveInputs(workflow: WorkflowDefinition, given: GivenInputs): { values: Record<string, unknown>; problems: string[] } {
  const declared = new Map(workflow.inputs.map((i) => [i.name, i]));
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  const names = [...declared.keys()];
  for (const name of new Set([...Object.keys(given.typed ?? {}), ...Object.keys(given.text ?? {})])) {
    if (!declared.has(name)) {
      problems.push(`unknown input '${name}'.${didYouMean(name, names)}${names.length ? ` This workflow takes: ${names.join(', ')}.` : ' This workflow takes no inputs.'}`);
    }
  }
  for (const input of workflow.inputs) {
    const text = given.text?.[input.name];
    let value: unknown;
    if (text !== undefined) {
      const converted = fromText(input, text);
      if ('problem' in converted) {
        problems.push(`input '${input.name}': ${converted.problem}`);
        continue;
      }
      value = converted.value;
    } else if (given.typed && input.name in given.typed) {
      value = given.typed[input.name];
    } else if (input.default !== undefined) {
      value = input.default;
    } else {
      if (input.required) problems.push(`missing input '${input.name}'${input.description ? ` (${input.description})` : ''}: give it with --input ${input.name}=<${input.type}>.`);
      continue;
    }
    const problem = inputValueProblem(input, value);
    if (problem) problems.push(`input '${input.name}' ${problem}.`);
    else values[input.name] = value;
  }
  return { values, problems };
}

function fromText(input: InputDefinition, text: string): { value: unknown } | { problem: string } {
  switch (input.type) {
    case 'string':
      return { value: text };
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) return { problem: `${JSON.stringify(text)} is not a number.` };
      return { value: n };
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', 'yes', '1'].includes(lower)) return { value: true };
      if (['false', 'no', '0'].includes(lower)) return { value: false };
      return { problem: `${JSON.stringify(text)} is not a boolean: use true or false.` };
    }
    case 'array':
    case 'object':
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { problem: `give ${input.type === 'array' ? 'a list' : 'an object'} as JSON, e.g. ${input.type === 'array' ? '\'["a","b"]\'' : '\'{"key":"value"}\''}.` };
      }
  }
}
