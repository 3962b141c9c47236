import assert from 'node:assert/strict';
import { SourceFile } from '../../common/source';
import { EvaluationError, evaluateValue } from '../../common/workflow/evaluate';
import { resolveInputs } from '../../common/workflow/inputs';
import type { ValueTemplate, WorkflowDefinition } from '../../common/workflow/model';
import { parseWorkflow, type ParsedWorkflow } from '../../common/workflow/parse';
import { checkArguments, COMPUTED, type ToolInfo } from '../../common/workflow/tool-arguments';

function parseClean(text: string): ParsedWorkflow {
  const parsed = parseWorkflow(new SourceFile('w.workflow.yaml', text));
  assert.deepEqual(parsed.diagnostics, [], 'the test workflow should parse cleanly');
  assert.ok(parsed.workflow);
  return parsed;
}

function entry(value: ValueTemplate | undefined, key: string): ValueTemplate {
  assert.ok(value?.kind === 'object', `expected an object, got ${JSON.stringify(value?.kind)}`);
  const found = value.entries.find((e) => e.key === key);
  assert.ok(found, `no key '${key}'`);
  return found.value;
}

/** The error `fn` throws, asserted to be an EvaluationError. */
function evaluationError(fn: () => unknown): EvaluationError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EvaluationError, `expected an EvaluationError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an EvaluationError');
}

describe('evaluateValue', () => {
  const text = [
    'name: values',
    'steps:',
    '  - id: a',
    '    server: fs',
    '    tool: t',
    '    with:',
    '      path: ${{ inputs.dir }}',
    '      count: ${{ inputs.n }}',
    '      padded: "  ${{ inputs.n }}  "',
    '      label: n=${{ inputs.n }}, flag=${{ inputs.flag }}, list=${{ inputs.list }}, none=${{ inputs.none }}',
    '      nested:',
    "        list: [a, '${{ inputs.n }}', {k: '${{ inputs.flag }}'}]",
    '        deep: {x: {y: "${{ inputs.list }}"}}',
    '      fixed:',
    '        x: 1',
    '        y: [1, {z: true}]',
    '      plain: [1, 2, 3]',
    '      bad: "prefix ${{ fromJSON(\'x\') }}"',
    '      bad2: ${{ inputs.n }} then ${{ format(\'{0\', inputs.n) }}',
    '',
  ].join('\n');
  const parsed = parseClean(text);
  const args = parsed.workflow!.steps[0].with!;
  const contexts = { inputs: { dir: '/data', n: 3, flag: true, list: [1, 'two'], none: null } };

  it('keeps the type of a single-expression template', () => {
    assert.equal(evaluateValue(entry(args, 'path'), contexts), '/data');
    assert.equal(evaluateValue(entry(args, 'count'), contexts), 3);
    assert.equal(evaluateValue(entry(args, 'padded'), contexts), 3, 'whitespace around one expression keeps its type');
    assert.deepEqual(evaluateValue(entry(entry(args, 'nested'), 'deep'), contexts), { x: { y: [1, 'two'] } });
  });

  it('interpolates several expressions into a string', () => {
    assert.equal(evaluateValue(entry(args, 'label'), contexts), 'n=3, flag=true, list=[1,"two"], none=');
  });

  it('evaluates nested objects and arrays', () => {
    assert.deepEqual(evaluateValue(entry(args, 'nested'), contexts), {
      list: ['a', 3, { k: true }],
      deep: { x: { y: [1, 'two'] } },
    });
  });

  it('returns constant subtrees as they are, without copying', () => {
    const fixed = entry(args, 'fixed');
    assert.ok(fixed.kind === 'object' && fixed.constant);
    const value = evaluateValue(fixed, contexts);
    assert.deepEqual(value, { x: 1, y: [1, { z: true }] });
    assert.equal(value, fixed.constant.value);
    assert.equal(evaluateValue(fixed, {}), value, 'the same object whatever the contexts');
    const plain = entry(args, 'plain');
    assert.ok(plain.kind === 'array' && plain.constant);
    assert.equal(evaluateValue(plain, contexts), plain.constant.value);
  });

  it('evaluates the whole with, mixing constant and computed entries', () => {
    assert.ok(args.kind === 'object');
    const good: ValueTemplate = { ...args, entries: args.entries.filter((e) => !e.key.startsWith('bad')) };
    const whole = evaluateValue(good, contexts) as Record<string, unknown>;
    assert.deepEqual(Object.keys(whole), ['path', 'count', 'padded', 'label', 'nested', 'fixed', 'plain']);
    assert.equal(whole.count, 3);
    assert.deepEqual(whole.fixed, { x: 1, y: [1, { z: true }] });
  });

  it('turns an evaluation error into an EvaluationError on the call in the document', () => {
    const error = evaluationError(() => evaluateValue(entry(args, 'bad'), contexts));
    assert.match(error.message, /^fromJSON: invalid JSON/);
    assert.equal(text.slice(error.range.start, error.range.end), "fromJSON('x')");
    assert.deepEqual(parsed.file.position(error.range.start), { line: 18, column: 24 });
  });

  it('places an error in the second expression of a string on that expression', () => {
    const error = evaluationError(() => evaluateValue(entry(args, 'bad2'), contexts));
    assert.match(error.message, /^format: /);
    assert.equal(text.slice(error.range.start, error.range.end), "format('{0', inputs.n)");
    assert.deepEqual(parsed.file.position(error.range.start), { line: 19, column: 38 });
  });

  it('raises EvaluationError from inside a nested value', () => {
    const nested = parseClean("name: x\nsteps:\n  - id: a\n    server: s\n    tool: t\n    with:\n      a:\n        - b: ${{ fromJSON('[') }}\n");
    const error = evaluationError(() => evaluateValue(nested.workflow!.steps[0].with!, {}));
    assert.match(error.message, /^fromJSON: invalid JSON/);
    assert.deepEqual(nested.file.position(error.range.start), { line: 8, column: 18 });
    assert.equal(nested.file.text.slice(error.range.start, error.range.end), "fromJSON('[')");
  });

  it('reports a syntax error only when the value is evaluated, at its place', () => {
    const broken = parseWorkflow(new SourceFile('b.yaml', 'name: x\nsteps:\n  - id: a\n    server: s\n    tool: t\n    with:\n      ok: 1\n      q: ${{ 1 + }}\n'));
    const q = entry(broken.workflow!.steps[0].with, 'q');
    assert.equal(evaluateValue(entry(broken.workflow!.steps[0].with, 'ok'), {}), 1);
    const error = evaluationError(() => evaluateValue(q, {}));
    assert.equal(error.message, "unexpected character '+'");
    assert.deepEqual(broken.file.position(error.range.start), { line: 8, column: 16 });
  });
});

describe('resolveInputs', () => {
  const workflow: WorkflowDefinition = parseClean(
    [
      'name: inputs',
      'inputs:',
      '  name:',
      '    type: string',
      '    description: Who to greet',
      '  count:',
      '    type: integer',
      '    default: 1',
      '  ratio:',
      '    type: number',
      '    required: false',
      '  verbose:',
      '    default: false',
      '  tags:',
      '    type: array',
      '    default: []',
      '  options:',
      '    type: object',
      '    required: false',
      '  color:',
      '    enum: [red, blue]',
      '    default: red',
      'steps:',
      '  - id: a',
      '    server: s',
      '    tool: t',
      '',
    ].join('\n'),
  ).workflow!;

  it('applies defaults and leaves optional inputs without default out', () => {
    const { values, problems } = resolveInputs(workflow, { text: { name: 'Ada' } });
    assert.deepEqual(problems, []);
    assert.deepEqual(values, { name: 'Ada', count: 1, verbose: false, tags: [], color: 'red' });
  });

  it('reports a missing required input with its description and type', () => {
    const { values, problems } = resolveInputs(workflow, {});
    assert.deepEqual(problems, ["missing input 'name' (Who to greet): give it with --input name=<string>."]);
    assert.equal('name' in values, false);
  });

  it('converts text to numbers and integers', () => {
    const { values, problems } = resolveInputs(workflow, { text: { name: '42', count: '7', ratio: '0.25' } });
    assert.deepEqual(problems, []);
    assert.equal(values.name, '42', 'a string input stays a string');
    assert.equal(values.count, 7);
    assert.equal(values.ratio, 0.25);
  });

  it('rejects text that is not a number, and a fraction for an integer', () => {
    const { problems } = resolveInputs(workflow, { text: { name: 'x', count: '2.5', ratio: 'abc' } });
    assert.deepEqual(problems, ["input 'count' must be an integer, not 2.5.", `input 'ratio': "abc" is not a number.`]);
    const empty = resolveInputs(workflow, { text: { name: 'x', ratio: ' ' } });
    assert.deepEqual(empty.problems, [`input 'ratio': " " is not a number.`]);
  });

  for (const [text, expected] of [
    ['true', true],
    ['yes', true],
    ['1', true],
    ['TRUE', true],
    ['false', false],
    ['no', false],
    ['0', false],
    ['No', false],
  ] as const) {
    it(`converts boolean text '${text}' to ${expected}`, () => {
      const { values, problems } = resolveInputs(workflow, { text: { name: 'x', verbose: text } });
      assert.deepEqual(problems, []);
      assert.equal(values.verbose, expected);
    });
  }

  it('rejects boolean text it does not know', () => {
    const { values, problems } = resolveInputs(workflow, { text: { name: 'x', verbose: 'maybe' } });
    assert.deepEqual(problems, [`input 'verbose': "maybe" is not a boolean: use true or false.`]);
    assert.equal('verbose' in values, false);
  });

  it('parses arrays and objects given as JSON text', () => {
    const { values, problems } = resolveInputs(workflow, { text: { name: 'x', tags: '["a","b"]', options: '{"deep":{"n":1}}' } });
    assert.deepEqual(problems, []);
    assert.deepEqual(values.tags, ['a', 'b']);
    assert.deepEqual(values.options, { deep: { n: 1 } });
  });

  it('explains bad JSON with an example', () => {
    const { problems } = resolveInputs(workflow, { text: { name: 'x', tags: '[a, b]', options: '{key: 1}' } });
    assert.deepEqual(problems, [
      `input 'tags': give a list as JSON, e.g. '["a","b"]'.`,
      `input 'options': give an object as JSON, e.g. '{"key":"value"}'.`,
    ]);
  });

  it('rejects JSON of the wrong shape', () => {
    const { problems } = resolveInputs(workflow, { text: { name: 'x', tags: '{"a":1}', options: '[1]' } });
    assert.deepEqual(problems, [`input 'tags' must be an array, not {"a":1}.`, "input 'options' must be an object, not [1]."]);
  });

  it('takes typed values as they are, and checks them', () => {
    const ok = resolveInputs(workflow, { typed: { name: 'Ada', count: 3, tags: ['x'], options: { a: 1 }, verbose: true } });
    assert.deepEqual(ok.problems, []);
    assert.deepEqual(ok.values, { name: 'Ada', count: 3, verbose: true, tags: ['x'], options: { a: 1 }, color: 'red' });
    const bad = resolveInputs(workflow, { typed: { name: 5, verbose: 'yes', count: '3' } });
    assert.deepEqual(bad.problems, [
      "input 'name' must be a string, not 5.",
      `input 'count' must be an integer, not "3".`,
      `input 'verbose' must be a boolean, not "yes".`,
    ]);
  });

  it('lets text win over typed values', () => {
    const { values, problems } = resolveInputs(workflow, { typed: { name: 'typed', count: 9 }, text: { name: 'text' } });
    assert.deepEqual(problems, []);
    assert.equal(values.name, 'text');
    assert.equal(values.count, 9);
  });

  it('reports an unknown input with a suggestion and the declared inputs', () => {
    const { problems } = resolveInputs(workflow, { text: { name: 'x', cout: '3' } });
    assert.deepEqual(problems, [
      "unknown input 'cout'. Did you mean 'count'? This workflow takes: name, count, ratio, verbose, tags, options, color.",
    ]);
  });

  it('reports an unknown typed input in a workflow without inputs', () => {
    const bare = parseClean('name: x\nsteps:\n  - id: a\n    server: s\n    tool: t\n').workflow!;
    assert.deepEqual(resolveInputs(bare, { typed: { x: 1 } }).problems, ["unknown input 'x'. This workflow takes no inputs."]);
  });

  it('reports values outside the enum', () => {
    const { values, problems } = resolveInputs(workflow, { text: { name: 'x', color: 'green' } });
    assert.deepEqual(problems, [`input 'color' must be one of "red", "blue", not "green".`]);
    assert.equal('color' in values, false);
  });
});

describe('checkArguments', () => {
  const readTextFile: ToolInfo = {
    name: 'read_text_file',
    inputSchema: {
      type: 'object',
      properties: { path: { type: 'string' }, head: { type: 'number' }, tail: { type: 'number' } },
      required: ['path'],
      $schema: 'http://json-schema.org/draft-07/schema#',
    },
  };

  it('accepts valid arguments', () => {
    assert.deepEqual(checkArguments(readTextFile, { path: '/a', head: 3 }), []);
  });

  it('reports type errors, missing required arguments and unknown ones with their paths', () => {
    assert.deepEqual(checkArguments(readTextFile, { head: '3', hed: 1 }), [
      { path: [], message: "tool 'read_text_file' requires argument 'path'.", severity: 'error', about: 'value' },
      { path: ['head'], message: `argument 'head' of 'read_text_file' must be a number, not string "3".`, severity: 'error', about: 'value' },
      {
        path: ['hed'],
        message: "tool 'read_text_file' has no argument 'hed'. Did you mean 'head'? Its arguments: path, head, tail.",
        severity: 'warning',
        about: 'key',
      },
    ]);
  });

  it('lets computed values pass, also deep inside', () => {
    const tool: ToolInfo = {
      name: 'create_entities',
      inputSchema: {
        type: 'object',
        properties: {
          entities: {
            type: 'array',
            items: {
              type: 'object',
              properties: { name: { type: 'string' }, observations: { type: 'array', items: { type: 'string' } } },
              required: ['name', 'observations'],
            },
          },
        },
        required: ['entities'],
      },
    };
    assert.deepEqual(checkArguments(tool, { entities: COMPUTED }), []);
    assert.deepEqual(checkArguments(tool, { entities: [{ name: COMPUTED, observations: COMPUTED }] }), []);
    const issues = checkArguments(tool, { entities: [{ name: 3, observations: COMPUTED }] });
    assert.deepEqual(issues.map((i) => [i.path.join('.'), i.message]), [
      ['entities.0.name', `argument 'entities.0.name' of 'create_entities' must be a string, not number 3.`],
    ]);
  });

  it('uses additionalProperties: false from the schema as an error', () => {
    const strict: ToolInfo = { name: 'echo', inputSchema: { type: 'object', properties: { message: { type: 'string' } }, additionalProperties: false } };
    assert.deepEqual(checkArguments(strict, { message: 'hi', mesage: 'x' }), [
      { path: ['mesage'], message: "tool 'echo' has no argument 'mesage'. Did you mean 'message'? Its arguments: message.", severity: 'error', about: 'key' },
    ]);
  });

  it('checks nothing without an inputSchema', () => {
    assert.deepEqual(checkArguments({ name: 'x' }, { anything: 1 }), []);
  });
});
