import assert from 'node:assert/strict';
import { formatDiagnostic, type Diagnostic } from '../../common/diagnostics';
import { SourceFile, type Range } from '../../common/source';
import { findCycles, stepDependencies, type Dependency } from '../../common/workflow/graph';
import { parseWorkflow, type ParsedWorkflow } from '../../common/workflow/parse';
import type { ToolInfo } from '../../common/workflow/tool-arguments';
import { validateWorkflow, type ValidationContext } from '../../common/workflow/validate';

/** The shape of @modelcontextprotocol/server-filesystem's `read_text_file`. */
const READ_TEXT_FILE: ToolInfo = {
  name: 'read_text_file',
  description: 'Read the complete contents of a file from the file system as text.',
  inputSchema: {
    type: 'object',
    properties: { path: { type: 'string' }, head: { type: 'number' } },
    required: ['path'],
    $schema: 'http://json-schema.org/draft-07/schema#',
  },
};

const LIST_DIRECTORY: ToolInfo = {
  name: 'list_directory',
  inputSchema: {
    type: 'object',
    properties: { path: { type: 'string' } },
    required: ['path'],
    $schema: 'http://json-schema.org/draft-07/schema#',
  },
};

/** A tool with an enum and a nested object, like many tools' sort or filter options. */
const SEARCH: ToolInfo = {
  name: 'search',
  inputSchema: {
    type: 'object',
    properties: {
      query: { type: 'string' },
      order: { type: 'string', enum: ['asc', 'desc'] },
      limits: { type: 'object', properties: { max: { type: 'integer' } }, required: ['max'] },
    },
    required: ['query'],
  },
};

const FS_TOOLS = [READ_TEXT_FILE, LIST_DIRECTORY, SEARCH];

interface Checked {
  parsed: ParsedWorkflow;
  diagnostics: Diagnostic[];
}

function check(text: string, context: Partial<ValidationContext> = {}): Checked {
  const parsed = parseWorkflow(new SourceFile('w.workflow.yaml', text));
  assert.deepEqual(
    parsed.diagnostics.map((d) => formatDiagnostic(parsed.file, d)),
    [],
    'the test workflow should parse cleanly',
  );
  const diagnostics = validateWorkflow(parsed, { externalServers: ['fs'], ...context });
  return { parsed, diagnostics };
}

function at(parsed: ParsedWorkflow, r: Range): string {
  const { line, column } = parsed.file.position(r.start);
  return `${line}:${column}`;
}

/** Each diagnostic as `line:col code message`, with the text it covers. */
function summary({ parsed, diagnostics }: Checked): Array<[string, string, string, string]> {
  return diagnostics.map((d) => [at(parsed, d.range), d.code, d.message, parsed.file.text.slice(d.range.start, d.range.end)]);
}

function step(id: string, extra = '', server = 'fs', tool = 'read_text_file'): string {
  return `  - id: ${id}\n    server: ${server}\n    tool: ${tool}\n${extra}`;
}

const W = 'name: w\n';

describe('workflow validation', () => {
  it('accepts a correct workflow', () => {
    const text = `${W}inputs:\n  dir:\n    default: /tmp\nsteps:\n${step('a', '    with:\n      path: ${{ inputs.dir }}\n')}${step('b', '    with:\n      path: ${{ steps.a.output.content }}\n')}`;
    assert.deepEqual(summary(check(text, { toolsOf: () => FS_TOOLS })), []);
  });

  describe('step ids and needs', () => {
    it('reports a duplicate step id on the second one', () => {
      const c = check(`${W}steps:\n${step('a')}${step('a')}`);
      assert.deepEqual(summary(c), [['6:9', 'duplicate-step', "step id 'a' is used twice; step ids must be unique.", 'a']]);
    });

    it('reports needs on an unknown step with a suggestion', () => {
      const c = check(`${W}steps:\n${step('fetch')}${step('b', '    needs: fetc\n')}`);
      assert.deepEqual(summary(c), [['9:12', 'unknown-step', "step 'b' needs unknown step 'fetc'. Did you mean 'fetch'?", 'fetc']]);
    });

    it('reports needs on an unknown step without a suggestion when nothing is close', () => {
      const c = check(`${W}steps:\n${step('fetch')}${step('b', '    needs: [fetch, summarize]\n')}`);
      assert.deepEqual(summary(c), [['9:20', 'unknown-step', "step 'b' needs unknown step 'summarize'.", 'summarize']]);
    });

    it('reports a step that needs itself', () => {
      const c = check(`${W}steps:\n${step('a', '    needs: [a]\n')}`);
      const self = c.diagnostics.find((d) => d.code === 'self-dependency');
      assert.ok(self);
      assert.equal(self.message, "step 'a' cannot need itself.");
      assert.equal(at(c.parsed, self.range), '6:13');
      assert.equal(c.diagnostics.length, 1, 'not reported a second time as a cycle');
    });

    it('reports a cycle through needs with its path, on the closing need', () => {
      const text = `${W}steps:\n${step('a', '    needs: c\n')}${step('b', '    needs: a\n')}${step('c', '    needs: [b]\n')}`;
      assert.deepEqual(summary(check(text)), [
        ['10:12', 'cycle', "steps form a cycle: a → c → b → a (here 'b' needs 'a'); a step cannot wait for itself.", 'a'],
      ]);
    });

    it('reports a cycle closed by an expression on that expression', () => {
      // a needs b; b reads a's output: the cycle closes at b's reference.
      const text = `${W}steps:\n${step('a', '    needs: b\n')}${step('b', '    with:\n      path: ${{ steps.a.output.content }}\n')}`;
      assert.deepEqual(summary(check(text)), [
        [
          '11:17',
          'cycle',
          "steps form a cycle: a → b → a (here 'b' reads 'a'); a step cannot wait for itself.",
          'steps.a.output.content',
        ],
      ]);
    });

    it('reports a cycle made only of expressions', () => {
      const text = `${W}steps:\n${step('a', '    if: steps.b.status == \'completed\'\n')}${step('b', '    with:\n      path: ${{ steps.a.output }}\n')}`;
      const c = check(text);
      assert.deepEqual(summary(c), [
        ['11:17', 'cycle', "steps form a cycle: a → b → a (here 'b' reads 'a'); a step cannot wait for itself.", 'steps.a.output'],
      ]);
    });

    it('warns about concurrency without foreach', () => {
      const c = check(`${W}steps:\n${step('a', '    concurrency: 2\n')}`);
      assert.deepEqual(summary(c), [['3:9', 'concurrency', "'concurrency' of step 'a' has no effect without 'foreach'.", 'a']]);
      assert.equal(c.diagnostics[0].severity, 'warning');
    });
  });

  describe('graph', () => {
    const text = [
      W.trimEnd(),
      'steps:',
      step('a').trimEnd(),
      step('b', "    if: steps.a.status == 'completed'").trimEnd(),
      step('c', '    foreach: ${{ steps.b.output }}').trimEnd(),
      step('d', '    needs: a\n    with:\n      path: ${{ steps.c.output }}').trimEnd(),
      step('e', '    outputs:\n      x: ${{ steps.d.output }}\n      y: ${{ output }}').trimEnd(),
      step('f', '    with:\n      path: ${{ steps.f.output }}').trimEnd(),
      'outputs:',
      '  all: ${{ steps.e.outputs.x }}',
      '',
    ].join('\n');
    const parsed = parseWorkflow(new SourceFile('g.workflow.yaml', text));
    const deps = stepDependencies(parsed.workflow!);
    const view = (list: Dependency[] | undefined) => (list ?? []).map((d) => [d.step, d.via, text.slice(d.range.start, d.range.end)]);

    it('includes steps read in if, foreach, with and outputs as implicit dependencies', () => {
      assert.deepEqual(view(deps.get('a')), []);
      assert.deepEqual(view(deps.get('b')), [['a', 'expression', 'steps.a.status']]);
      assert.deepEqual(view(deps.get('c')), [['b', 'expression', 'steps.b.output']]);
      assert.deepEqual(view(deps.get('d')), [
        ['a', 'needs', 'a'],
        ['c', 'expression', 'steps.c.output'],
      ]);
      assert.deepEqual(view(deps.get('e')), [['d', 'expression', 'steps.d.output']]);
    });

    it('does not count a step reading itself, nor workflow outputs', () => {
      assert.deepEqual(view(deps.get('f')), []);
      assert.deepEqual([...deps.keys()], ['a', 'b', 'c', 'd', 'e', 'f']);
    });

    it('finds no cycle in an acyclic graph', () => {
      assert.deepEqual(findCycles(deps), []);
    });

    it('finds a cycle and ignores dependencies on unknown steps', () => {
      const r = { start: 0, end: 0 };
      const graph = new Map<string, Dependency[]>([
        ['x', [{ step: 'ghost', range: r, via: 'needs' }, { step: 'y', range: r, via: 'needs' }]],
        ['y', [{ step: 'z', range: r, via: 'expression' }]],
        ['z', [{ step: 'x', range: { start: 5, end: 6 }, via: 'expression' }]],
      ]);
      const cycles = findCycles(graph);
      assert.equal(cycles.length, 1);
      assert.deepEqual(cycles[0].path, ['x', 'y', 'z', 'x']);
      assert.deepEqual(cycles[0].closing, { step: 'x', range: { start: 5, end: 6 }, via: 'expression' });
    });
  });

  describe('expression references', () => {
    it('reports an unknown input with a suggestion and the declared inputs', () => {
      const c = check(`${W}inputs:\n  dir: {default: /tmp}\n  depth: {default: 2}\nsteps:\n${step('a', '    with:\n      path: x/${{ inputs.dri }}\n')}`);
      assert.deepEqual(summary(c), [
        ['10:19', 'unknown-reference', "unknown input 'dri'. Did you mean 'dir'? Inputs: dir, depth.", 'inputs.dri'],
      ]);
    });

    it('reports an input read in a workflow that declares none', () => {
      const c = check(`${W}steps:\n${step('a', '    if: inputs.go\n')}`);
      assert.deepEqual(summary(c), [['6:9', 'unknown-reference', "unknown input 'go'. This workflow declares no inputs.", 'inputs.go']]);
    });

    it('reports an unknown step with a suggestion', () => {
      const c = check(`${W}steps:\n${step('fetch')}${step('b', '    with:\n      path: ${{ steps.fetsh.output }}\n')}`);
      assert.deepEqual(summary(c), [['10:17', 'unknown-reference', "unknown step 'fetsh'. Did you mean 'fetch'?", 'steps.fetsh.output']]);
    });

    it('reports an unknown step property with a suggestion', () => {
      const c = check(`${W}steps:\n${step('a')}${step('b', '    with:\n      path: ${{ steps.a.outptu }}\n')}`);
      assert.deepEqual(summary(c), [
        ['10:17', 'unknown-reference', "'steps.a' has no property 'outptu'. Did you mean 'output'? It has output, outputs, status.", 'steps.a.outptu'],
      ]);
    });

    it('reports an undeclared step output with a suggestion', () => {
      const text = `${W}steps:\n${step('a', '    outputs:\n      text: ${{ output.content }}\n')}${step('b', '    with:\n      path: ${{ steps.a.outputs.txt }}\n')}`;
      assert.deepEqual(summary(check(text)), [
        ['12:17', 'unknown-reference', "step 'a' declares no output 'txt'. Did you mean 'text'? Its outputs: text.", 'steps.a.outputs.txt'],
      ]);
    });

    it('tells how to read the result of a step that declares no outputs', () => {
      const c = check(`${W}steps:\n${step('a')}${step('b', '    with:\n      path: ${{ steps.a.outputs.x }}\n')}`);
      assert.deepEqual(summary(c), [
        ['10:17', 'unknown-reference', "step 'a' declares no output 'x'. Read its result as steps.a.output, or declare outputs.", 'steps.a.outputs.x'],
      ]);
    });

    it('reports a step reading its own result through steps', () => {
      const c = check(`${W}steps:\n${step('a', '    with:\n      path: ${{ steps.a.output }}\n')}`);
      assert.deepEqual(summary(c), [
        ['7:17', 'unknown-reference', "step 'a' cannot read its own result through 'steps'; use 'output' in its outputs.", 'steps.a.output'],
      ]);
    });

    it('reports an unknown run property', () => {
      const c = check(`${W}steps:\n${step('a', '    with:\n      path: ${{ run.name }}\n')}`);
      assert.deepEqual(summary(c), [['7:17', 'unknown-reference', "'run' has no property 'name'; it has id, workflow.", 'run.name']]);
    });

    it('reports item outside foreach, and accepts it inside', () => {
      const outside = check(`${W}steps:\n${step('a', '    with:\n      path: ${{ item }}\n')}`);
      assert.deepEqual(summary(outside), [
        ['7:17', 'expression', "unknown context 'item'. Available here: inputs, steps, env, run.", 'item'],
      ]);
      const inside = check(`${W}steps:\n${step('a', "    foreach: ['x', 'y']\n    with:\n      path: ${{ item }}-${{ index }}\n")}`);
      assert.deepEqual(summary(inside), []);
    });

    it('does not allow item in the foreach expression itself', () => {
      const c = check(`${W}steps:\n${step('a', '    foreach: item\n')}`);
      assert.deepEqual(summary(c), [['6:14', 'expression', "unknown context 'item'. Available here: inputs, steps, env, run.", 'item']]);
    });

    it('reports output outside step outputs, and accepts it inside', () => {
      const text = `${W}steps:\n${step('a', '    with:\n      path: ${{ output }}\n    outputs:\n      n: ${{ length(output.content) }}\n')}outputs:\n  r: \${{ output }}\n`;
      assert.deepEqual(summary(check(text)), [
        ['7:17', 'expression', "unknown context 'output'. Available here: inputs, steps, env, run.", 'output'],
        ['11:10', 'expression', "unknown context 'output'. Available here: inputs, steps, env, run.", 'output'],
      ]);
    });

    it('reports steps inside a server definition', () => {
      const text = `${W}inputs:\n  dir: {default: .}\nservers:\n  files:\n    command: npx\n    args: ["\${{ steps.a.output }}", "\${{ inputs.dir }}", "\${{ inputs.dri }}"]\nsteps:\n${step('a', '', 'files')}`;
      assert.deepEqual(summary(check(text)), [
        ['7:17', 'expression', "unknown context 'steps'. Available here: inputs, env.", 'steps'],
        ['7:63', 'unknown-reference', "unknown input 'dri'. Did you mean 'dir'? Inputs: dir.", 'inputs.dri'],
      ]);
    });

    it('suggests a close context name', () => {
      const c = check(`${W}steps:\n${step('a', '    with:\n      path: ${{ imputs.x }}\n')}`);
      assert.deepEqual(summary(c), [['7:17', 'expression', "unknown context 'imputs'. Did you mean 'inputs'?", 'imputs']]);
    });

    it('reports unknown functions and wrong argument counts in workflow outputs', () => {
      const c = check(`${W}steps:\n${step('a')}outputs:\n  n: \${{ lenght(steps.a.output) }}\n  j: \${{ join() }}\n`);
      assert.deepEqual(summary(c), [
        ['7:10', 'expression', "unknown function 'lenght'. Did you mean 'length'?", 'lenght'],
        ['8:10', 'expression', "'join' takes 1 to 2 arguments, got 0", 'join()'],
      ]);
    });
  });

  describe('servers', () => {
    it('reports an unknown server with a suggestion and the known servers', () => {
      const c = check(`${W}servers:\n  files:\n    command: npx\nsteps:\n${step('a', '', 'filse')}`, { externalServers: ['memory'] });
      assert.deepEqual(summary(c), [
        [
          '7:13',
          'unknown-server',
          "unknown server 'filse': declare it under 'servers:' or in .vscode/mcp.json. Did you mean 'files'? Known servers: files, memory.",
          'filse',
        ],
      ]);
    });

    it('says so when no server is known at all', () => {
      const c = check(`${W}steps:\n${step('a', '', 'github')}`, { externalServers: [] });
      assert.deepEqual(summary(c), [
        ['4:13', 'unknown-server', "unknown server 'github': declare it under 'servers:' or in .vscode/mcp.json.", 'github'],
      ]);
    });

    it('accepts a server from externalServers, given as any iterable', () => {
      const c = check(`${W}steps:\n${step('a', '', 'memory', 'search_nodes')}`, { externalServers: new Set(['memory']).keys() });
      assert.deepEqual(summary(c), []);
    });

    it('reports server declarations whose type and fields disagree', () => {
      const text = `${W}servers:\n  remote:\n    type: http\n    command: npx\n  local:\n    type: stdio\n    url: http://localhost:3000/mcp\n  both:\n    command: npx\n    url: http://localhost:3000/mcp\nsteps:\n${step('a')}`;
      assert.deepEqual(
        summary(check(text)).map(([where, code, message]) => [where, code, message]),
        [
          ['3:3', 'server-definition', "server 'remote' is of type http and needs a 'url'."],
          ['6:3', 'server-definition', "server 'local' is of type stdio and needs a 'command'."],
          ['9:3', 'server-definition', "server 'both' has both 'command' and 'url': give 'command' for a local (stdio) server or 'url' for an HTTP one."],
        ],
      );
    });
  });

  describe('tools and arguments', () => {
    const toolsOf = (server: string) => (server === 'fs' ? FS_TOOLS : undefined);

    it('reports an unknown tool with a suggestion and the tool list', () => {
      const c = check(`${W}steps:\n${step('a', '', 'fs', 'read_txt_file')}`, { toolsOf });
      assert.deepEqual(summary(c), [
        [
          '5:11',
          'unknown-tool',
          "server 'fs' has no tool 'read_txt_file'. Did you mean 'read_text_file'? Its tools: read_text_file, list_directory, search.",
          'read_txt_file',
        ],
      ]);
    });

    it('reports an argument of the wrong type on its value', () => {
      const c = check(`${W}steps:\n${step('a', '    with:\n      path: /tmp/a.txt\n      head: ten\n')}`, { toolsOf });
      assert.deepEqual(summary(c), [
        ['8:13', 'tool-arguments', `argument 'head' of 'read_text_file' must be a number, not string "ten".`, 'ten'],
      ]);
      assert.equal(c.diagnostics[0].severity, 'error');
    });

    it('reports a missing required argument', () => {
      const c = check(`${W}steps:\n${step('a', '    with:\n      head: 5\n')}`, { toolsOf });
      assert.deepEqual(summary(c).map((s) => s.slice(0, 3)), [['7:7', 'tool-arguments', "tool 'read_text_file' requires argument 'path'."]]);
    });

    it('reports a missing required argument on the tool when there is no with', () => {
      const c = check(`${W}steps:\n${step('a')}`, { toolsOf });
      assert.deepEqual(summary(c), [['5:11', 'tool-arguments', "tool 'read_text_file' requires argument 'path'.", 'read_text_file']]);
    });

    it('reports an enum violation and a nested problem', () => {
      const c = check(`${W}steps:\n${step('a', '    with:\n      query: q\n      order: up\n      limits: {max: many}\n', 'fs', 'search')}`, { toolsOf });
      assert.deepEqual(summary(c), [
        ['8:14', 'tool-arguments', `argument 'order' of 'search' must be one of "asc", "desc", not "up".`, 'up'],
        ['9:21', 'tool-arguments', `argument 'limits.max' of 'search' must be an integer, not string "many".`, 'many'],
      ]);
    });

    it('does not flag arguments computed by expressions', () => {
      const text = `${W}inputs:\n  n: {default: 3}\nsteps:\n${step('a', '    with:\n      path: ${{ inputs.n }}\n      head: ${{ inputs.n }}\n')}${step('b', '    with:\n      query: q\n      limits: ${{ fromJSON(\'{}\') }}\n', 'fs', 'search')}`;
      assert.deepEqual(summary(check(text, { toolsOf })), []);
    });

    it('warns about an argument the tool does not declare, with a suggestion', () => {
      const c = check(`${W}steps:\n${step('a', '    with:\n      path: a.txt\n      haed: 3\n')}`, { toolsOf });
      assert.equal(c.diagnostics.length, 1);
      const d = c.diagnostics[0];
      assert.equal(d.severity, 'warning');
      assert.equal(d.message, "tool 'read_text_file' has no argument 'haed'. Did you mean 'head'? Its arguments: path, head.");
      assert.equal(at(c.parsed, d.range), '8:7', 'on the misspelled key, not its value');
    });

    it('reports nothing about tools when toolsOf does not know the server', () => {
      const text = `${W}steps:\n${step('a', '    with:\n      head: ten\n      whatever: 1\n', 'fs', 'no_such_tool')}`;
      assert.deepEqual(summary(check(text, { toolsOf: () => undefined })), []);
      assert.deepEqual(summary(check(text)), []);
    });

    it('does not look up tools of an unknown server', () => {
      const asked: string[] = [];
      check(`${W}steps:\n${step('a', '', 'nope')}`, { toolsOf: (s) => (asked.push(s), FS_TOOLS) });
      assert.deepEqual(asked, []);
    });
  });

  describe('input defaults', () => {
    it('reports defaults that do not match the declared type or enum, on the input name', () => {
      const text = `${W}inputs:\n  n:\n    type: number\n    default: abc\n  color:\n    enum: [red, blue]\n    default: green\n  i:\n    type: integer\n    default: 1.5\n  list:\n    type: array\n    default: {a: 1}\n  ok:\n    type: number\n    default: 2\nsteps:\n${step('a')}`;
      assert.deepEqual(summary(check(text)), [
        ['3:3', 'input-default', `the default of input 'n' must be a number, not "abc".`, 'n'],
        ['6:3', 'input-default', `the default of input 'color' must be one of "red", "blue", not "green".`, 'color'],
        ['9:3', 'input-default', "the default of input 'i' must be an integer, not 1.5.", 'i'],
        ['12:3', 'input-default', `the default of input 'list' must be an array, not {"a":1}.`, 'list'],
      ]);
    });
  });

  it('returns nothing when the file has no model', () => {
    const parsed = parseWorkflow(new SourceFile('x.yaml', '- a\n'));
    assert.deepEqual(validateWorkflow(parsed, { externalServers: [] }), []);
  });
});
