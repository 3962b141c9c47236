import assert from 'node:assert/strict';
import { formatDiagnostic, type Diagnostic } from '../../common/diagnostics';
import { SourceFile, type Range } from '../../common/source';
import type { ValueTemplate } from '../../common/workflow/model';
import { parseWorkflow, type ParsedWorkflow } from '../../common/workflow/parse';

function parse(text: string): ParsedWorkflow {
  return parseWorkflow(new SourceFile('w.workflow.yaml', text));
}

/** The text a range covers. */
function covered(parsed: ParsedWorkflow, r: Range): string {
  return parsed.file.text.slice(r.start, r.end);
}

/** `line:col` of a range's start. */
function at(parsed: ParsedWorkflow, r: Range): string {
  const { line, column } = parsed.file.position(r.start);
  return `${line}:${column}`;
}

/** The only diagnostic with the given code; fails when there are none or several. */
function only(parsed: ParsedWorkflow, code: string): Diagnostic {
  const found = parsed.diagnostics.filter((d) => d.code === code);
  assert.equal(found.length, 1, `expected one '${code}' diagnostic, got: ${parsed.diagnostics.map((d) => formatDiagnostic(parsed.file, d)).join(' | ')}`);
  return found[0];
}

function template(value: ValueTemplate | undefined): Extract<ValueTemplate, { kind: 'template' }> {
  assert.ok(value && value.kind === 'template', `expected a template, got ${JSON.stringify(value?.kind)}`);
  return value;
}

/** The value of `key` in an object template. */
function entry(value: ValueTemplate | undefined, key: string): ValueTemplate {
  assert.ok(value?.kind === 'object', `expected an object, got ${JSON.stringify(value?.kind)}`);
  const found = value.entries.find((e) => e.key === key);
  assert.ok(found, `no key '${key}'`);
  return found.value;
}

const STEP = '  - id: a\n    server: fs\n    tool: read_text_file\n';

describe('workflow parsing', () => {
  describe('a valid workflow', () => {
    const text = [
      'name: report',
      'description: Reads files and reports.',
      'inputs:',
      '  dir:',
      '    default: /tmp',
      '  count:',
      '    default: 3',
      '  ratio:',
      '    default: 0.5',
      '  verbose:',
      '    default: false',
      '  tags:',
      '    default: [a, b]',
      '  options:',
      '    default: {x: 1}',
      '  token:',
      '    type: string',
      '    description: The API token',
      '  mode:',
      '    type: string',
      '    required: false',
      '    enum: [fast, slow]',
      'servers:',
      '  fs:',
      '    command: npx',
      '    args: ["-y", "@modelcontextprotocol/server-filesystem", "${{ inputs.dir }}"]',
      'defaults:',
      '  timeout: 2m',
      'steps:',
      '  - id: fetch',
      '    name: Fetch the file',
      '    server: fs',
      '    tool: read_text_file',
      '    timeout: 30s',
      '    with:',
      '      path: ${{ inputs.dir }}/a.txt',
      '      head: 10',
      '    outputs:',
      '      text: ${{ output.content }}',
      '  - id: each',
      '    server: fs',
      '    tool: read_text_file',
      '    needs: fetch',
      '    if: inputs.verbose',
      '    foreach: ${{ inputs.tags }}',
      '    concurrency: 2',
      '    timeout: 500ms',
      '    with:',
      '      path: ${{ item }}',
      '  - id: last',
      '    server: memory',
      '    tool: search_nodes',
      '    needs: [fetch, each]',
      "    if: ${{ steps.each.status == 'completed' }}",
      '    timeout: 1500',
      '    with:',
      '      query: person',
      'outputs:',
      '  text: ${{ steps.fetch.outputs.text }}',
      '',
    ].join('\n');
    const parsed = parse(text);
    const workflow = parsed.workflow!;

    it('has no diagnostics and a model', () => {
      assert.deepEqual(parsed.diagnostics, []);
      assert.ok(workflow);
      assert.equal(workflow.name, 'report');
      assert.equal(workflow.description, 'Reads files and reports.');
      assert.equal(workflow.defaults.timeoutMs, 120_000);
    });

    it('infers input types from defaults and makes inputs without a default required', () => {
      const summary = workflow.inputs.map((i) => [i.name, i.type, i.required, i.default]);
      assert.deepEqual(summary, [
        ['dir', 'string', false, '/tmp'],
        ['count', 'integer', false, 3],
        ['ratio', 'number', false, 0.5],
        ['verbose', 'boolean', false, false],
        ['tags', 'array', false, ['a', 'b']],
        ['options', 'object', false, { x: 1 }],
        ['token', 'string', true, undefined],
        ['mode', 'string', false, undefined],
      ]);
      const token = workflow.inputs.find((i) => i.name === 'token')!;
      assert.equal(token.description, 'The API token');
      assert.equal('default' in token, false);
      assert.deepEqual(workflow.inputs.find((i) => i.name === 'mode')!.enum, ['fast', 'slow']);
      assert.equal(covered(parsed, workflow.inputs[1].range), 'count');
      assert.equal(at(parsed, workflow.inputs[1].range), '6:3');
    });

    it('keeps servers as templates with their expressions', () => {
      assert.equal(workflow.servers.length, 1);
      const fs = workflow.servers[0];
      assert.equal(fs.name, 'fs');
      assert.equal(at(parsed, fs.range), '24:3');
      assert.equal(fs.definition.kind, 'object');
      assert.ok(fs.definition.kind === 'object');
      assert.equal(fs.definition.constant, undefined, 'an object with an expression is not constant');
      const args = fs.definition.entries.find((e) => e.key === 'args')!.value;
      assert.ok(args.kind === 'array');
      assert.deepEqual(args.items.slice(0, 2).map((i) => i.kind), ['literal', 'literal']);
      const dir = template(args.items[2]);
      assert.equal(covered(parsed, dir.range), '"${{ inputs.dir }}"');
      const start = dir.sourceMap[3];
      assert.equal(covered(parsed, { start, end: start + 12 }), ' inputs.dir ');
    });

    it('parses steps with their ranges', () => {
      assert.deepEqual(workflow.steps.map((s) => s.id), ['fetch', 'each', 'last']);
      const [fetch, each, last] = workflow.steps;
      assert.equal(covered(parsed, fetch.idRange), 'fetch');
      assert.equal(at(parsed, fetch.idRange), '30:9');
      assert.equal(at(parsed, each.idRange), '40:9');
      assert.ok(covered(parsed, fetch.range).startsWith('id: fetch\n'));
      assert.ok(covered(parsed, fetch.range).includes('text: ${{ output.content }}'));
      assert.ok(!covered(parsed, fetch.range).includes('id: each'));
      assert.equal(fetch.name, 'Fetch the file');
      assert.equal(fetch.server.name, 'fs');
      assert.equal(covered(parsed, fetch.server.range), 'fs');
      assert.equal(fetch.tool.name, 'read_text_file');
      assert.equal(at(parsed, fetch.tool.range), '33:11');
      assert.equal(last.server.name, 'memory');
    });

    it('converts timeouts to milliseconds', () => {
      assert.deepEqual(workflow.steps.map((s) => s.timeoutMs), [30_000, 500, 1500]);
    });

    it('reads needs as a string or a list, each with its range', () => {
      const [fetch, each, last] = workflow.steps;
      assert.deepEqual(fetch.needs, []);
      assert.deepEqual(each.needs.map((n) => n.name), ['fetch']);
      assert.equal(at(parsed, each.needs[0].range), '43:12');
      assert.deepEqual(last.needs.map((n) => [n.name, covered(parsed, n.range), at(parsed, n.range)]), [
        ['fetch', 'fetch', '53:13'],
        ['each', 'each', '53:20'],
      ]);
    });

    it('takes if and foreach as a bare expression or a ${{ }} template', () => {
      const [fetch, each, last] = workflow.steps;
      assert.equal(fetch.if, undefined);
      assert.equal(fetch.foreach, undefined);
      const bare = template(each.if);
      assert.equal(bare.template.parts.length, 1);
      const part = bare.template.parts[0];
      assert.ok(part.kind === 'expression' && part.expr);
      assert.equal(part.source, 'inputs.verbose');
      assert.equal(covered(parsed, { start: bare.sourceMap[0], end: bare.sourceMap[part.source.length] }), 'inputs.verbose');
      const foreach = template(each.foreach);
      assert.equal(covered(parsed, foreach.range), '${{ inputs.tags }}');
      assert.equal(at(parsed, { start: foreach.sourceMap[3], end: 0 }), '45:17');
      const wrapped = template(last.if);
      const wrappedPart = wrapped.template.parts.find((p) => p.kind === 'expression');
      assert.ok(wrappedPart?.kind === 'expression' && wrappedPart.expr?.kind === 'compare');
    });

    it('keeps concurrency only when set', () => {
      assert.deepEqual(workflow.steps.map((s) => s.concurrency), [undefined, 2, undefined]);
    });

    it('builds with/outputs trees, constant where there are no expressions', () => {
      const [fetch, each, last] = workflow.steps;
      assert.ok(fetch.with?.kind === 'object');
      assert.equal(fetch.with.constant, undefined);
      const path = template(fetch.with.entries[0].value);
      assert.equal(covered(parsed, path.range), '${{ inputs.dir }}/a.txt');
      assert.deepEqual(path.template.parts.map((p) => p.kind), ['expression', 'text']);
      assert.deepEqual(fetch.with.entries[1], {
        key: 'head',
        keyRange: fetch.with.entries[1].keyRange,
        value: { kind: 'literal', value: 10, range: fetch.with.entries[1].value.range },
      });
      assert.equal(covered(parsed, fetch.with.entries[1].keyRange), 'head');
      assert.ok(last.with?.kind === 'object');
      assert.deepEqual(last.with.constant, { value: { query: 'person' } });
      assert.ok(fetch.outputs?.kind === 'object');
      assert.deepEqual(fetch.outputs.entries.map((e) => e.key), ['text']);
      assert.equal(each.outputs, undefined);
    });

    it('reads workflow outputs', () => {
      assert.ok(workflow.outputs?.kind === 'object');
      const text = template(workflow.outputs.entries[0].value);
      assert.equal(at(parsed, text.range), '59:9');
    });
  });

  it('uses the default timeout when neither the step nor defaults set one', () => {
    const parsed = parse(`name: x\nsteps:\n${STEP}`);
    assert.equal(parsed.workflow?.defaults.timeoutMs, 60_000);
    assert.equal(parsed.workflow?.steps[0].timeoutMs, undefined);
  });

  it('names a step without id by its index', () => {
    const parsed = parse('name: x\nsteps:\n  - server: fs\n    tool: t\n');
    assert.equal(parsed.workflow?.steps[0].id, '#0');
  });

  describe('malformed YAML', () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['bad indentation', 'name: x\nsteps:\n  - id: a\n    server: s\n   tool: t\n', '5:1', /^YAML: /],
      ['tab indentation', 'name: x\nsteps:\n\t- id: a\n', '3:1', /^YAML: Tabs are not allowed as indentation/],
      ['duplicate keys', 'name: x\nname: y\nsteps:\n  - id: a\n    server: s\n    tool: t\n', '2:1', /^YAML: Map keys must be unique/],
      ['unclosed quote', 'name: "x\nsteps: []\n', '3:1', /^YAML: Missing closing "quote/],
    ];
    for (const [what, text, where, message] of cases) {
      it(`reports ${what} with code yaml at ${where}`, () => {
        const parsed = parse(text);
        const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
        assert.ok(errors.length >= 1);
        assert.ok(errors.every((d) => d.code === 'yaml'), 'no schema errors on top of YAML errors');
        assert.match(errors[0].message, message);
        assert.equal(at(parsed, errors[0].range), where);
        assert.ok(!/\n/.test(errors[0].message), 'the message is on one line');
      });
    }

    it('points a duplicate key at the second occurrence', () => {
      const parsed = parse('name: x\nsteps:\n  - id: a\n    server: s\n    tool: t\n    tool: u\n');
      const d = only(parsed, 'yaml');
      assert.equal(at(parsed, d.range), '6:5');
      assert.equal(formatDiagnostic(parsed.file, d), 'w.workflow.yaml:6:5: error: YAML: Map keys must be unique');
    });
  });

  describe('a file that is not a mapping', () => {
    const cases: Array<[string, string, string]> = [
      ['a list', '- a\n- b\n', '- a\n- b\n'],
      ['a scalar', 'hello\n', 'hello'],
      ['an empty file', '', ''],
      ['a file of comments', '# nothing yet\n', '#'],
    ];
    for (const [what, text, coveredText] of cases) {
      it(`reports ${what}`, () => {
        const parsed = parse(text);
        assert.equal(parsed.workflow, undefined);
        const d = only(parsed, 'not-a-workflow');
        assert.equal(d.severity, 'error');
        assert.equal(d.message, 'a workflow file must be a YAML mapping with at least `name` and `steps`.');
        assert.equal(at(parsed, d.range), '1:1');
        assert.equal(covered(parsed, d.range), coveredText);
        assert.equal(parsed.diagnostics.length, 1);
      });
    }
  });

  describe('schema errors', () => {
    it('names an unknown key, suggests the close one and points at the key', () => {
      const parsed = parse(`name: x\nsteps:\n${STEP}    neds: b\n`);
      const d = only(parsed, 'schema');
      assert.equal(
        d.message,
        "unknown key 'neds' in step 'a'. Did you mean 'needs'? Allowed keys: id, name, server, tool, with, needs, if, foreach, concurrency, timeout, stepTimeout, retry, compensate, approval, wait, signal, outputs.",
      );
      assert.equal(covered(parsed, d.range), 'neds');
      assert.equal(at(parsed, d.range), '6:5');
    });

    it('reports an unknown top-level key and the missing one it stands for', () => {
      const parsed = parse('name: x\nstep:\n  - id: a\n');
      const messages = parsed.diagnostics.map((d) => `${at(parsed, d.range)} ${d.message}`);
      assert.deepEqual(messages.sort(), [
        "1:1 the workflow is missing 'steps'.",
        "2:1 unknown key 'step' in the workflow. Did you mean 'steps'? Allowed keys: name, description, inputs, servers, defaults, circuitBreakers, steps, outputs.",
      ]);
    });

    it('gives no suggestion for a key far from every allowed one', () => {
      const parsed = parse(`name: x\nsteps:\n${STEP}    retries: 3\n`);
      const d = only(parsed, 'schema');
      assert.ok(d.message.startsWith("unknown key 'retries' in step 'a'. Allowed keys: "), d.message);
    });

    it('reports a step without tool on the step', () => {
      const parsed = parse('name: x\nsteps:\n  - id: a\n    server: s\n');
      const d = only(parsed, 'schema');
      assert.equal(d.message, "step 'a' is missing 'tool'.");
      assert.equal(at(parsed, d.range), '3:5');
    });

    it('reports steps that are not a list', () => {
      const parsed = parse('name: x\nsteps:\n  id: a\n');
      const d = only(parsed, 'schema');
      assert.equal(d.message, "'steps' must be a list, not a mapping.");
      assert.equal(at(parsed, d.range), '3:3');
      assert.deepEqual(parsed.workflow?.steps, []);
    });

    it('reports needs that is a number', () => {
      const parsed = parse(`name: x\nsteps:\n${STEP}    needs: 3\n`);
      const errors = parsed.diagnostics.filter((d) => d.code === 'schema');
      const summary = errors.find((d) => d.message === "'needs' of step 'a' must be a step id or a list of step ids.");
      assert.ok(summary, errors.map((d) => d.message).join(' | '));
      assert.equal(at(parsed, summary.range), '6:12');
      assert.equal(errors.length, 1, 'only the summary, not the errors of each alternative');
      assert.deepEqual(parsed.workflow?.steps[0].needs, []);
    });

    it('reports concurrency 0', () => {
      const parsed = parse(`name: x\nsteps:\n${STEP}    foreach: [1, 2]\n    concurrency: 0\n`);
      const d = only(parsed, 'schema');
      assert.equal(d.message, "'concurrency' of step 'a' must be at least 1.");
      assert.equal(at(parsed, d.range), '7:18');
      assert.equal(parsed.workflow?.steps[0].concurrency, undefined);
    });

    it('reports a timeout that is not a duration', () => {
      const parsed = parse(`name: x\nsteps:\n${STEP}    timeout: '5 sec'\n`);
      const d = only(parsed, 'schema');
      assert.equal(
        d.message,
        `'timeout' of step 'a' is "5 sec", not a duration: write milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h.`,
      );
      assert.equal(covered(parsed, d.range), "'5 sec'");
      assert.equal(at(parsed, d.range), '6:14');
      assert.equal(parsed.workflow?.steps[0].timeoutMs, undefined);
    });

    it('reports a step id that breaks the pattern', () => {
      const parsed = parse('name: x\nsteps:\n  - id: 1abc\n    server: s\n    tool: t\n');
      const d = only(parsed, 'schema');
      assert.equal(d.message, `'id' of step '1abc' is "1abc": it must start with a letter or '_' and hold only letters, digits, '_' and '-'.`);
      assert.equal(at(parsed, d.range), '3:9');
    });

    it('reports a server with neither command nor url', () => {
      const parsed = parse('name: x\nservers:\n  fs:\n    args: [a]\nsteps:\n  - id: a\n    server: fs\n    tool: t\n');
      const d = only(parsed, 'schema');
      assert.equal(d.message, "server 'fs' needs either 'command' (a stdio server) or 'url' (an HTTP server).");
      assert.equal(at(parsed, d.range), '4:5');
    });

    it('reports an input type outside the enum', () => {
      const parsed = parse(`name: x\ninputs:\n  n:\n    type: float\nsteps:\n${STEP}`);
      const d = only(parsed, 'schema');
      assert.equal(
        d.message,
        `'type' of input 'n' must be one of "string", "number", "integer", "boolean", "array", "object", not "float".`,
      );
      assert.equal(covered(parsed, d.range), 'float');
      assert.equal(at(parsed, d.range), '4:11');
    });

    it('reports a wrongly typed scalar with its value', () => {
      const parsed = parse(`name: x\nsteps:\n${STEP}    if: [a]\n`);
      const d = only(parsed, 'schema');
      assert.equal(d.message, "'if' of step 'a' must be a string or a boolean, not a list.");
      assert.equal(at(parsed, d.range), '6:9');
    });
  });

  describe('expression syntax errors', () => {
    const head = `name: x\nsteps:\n${STEP}    with:\n`;
    function syntaxErrors(text: string): Array<[string, string, string]> {
      const parsed = parse(text);
      return parsed.diagnostics
        .filter((d) => d.code === 'expression-syntax')
        .map((d) => [at(parsed, d.range), d.message, covered(parsed, d.range)]);
    }

    it('are placed inside a plain scalar', () => {
      assert.deepEqual(syntaxErrors(`${head}      path: \${{ inputs. }}\n`), [
        ['7:25', "expected a property name or '*' after '.', found end of expression", ''],
      ]);
    });

    it('are placed inside a single-quoted scalar', () => {
      assert.deepEqual(syntaxErrors(`${head}      path: '\${{ 1 + }}'\n`), [['7:20', "unexpected character '+'", '+']]);
    });

    it('are placed inside a double-quoted scalar after text', () => {
      assert.deepEqual(syntaxErrors(`${head}      path: "dir/\${{ inputs.a ! }}"\n`).map((e) => [e[0], e[2]]), [['7:31', '!']]);
    });

    it('are placed inside a block scalar', () => {
      const text = `${head}      path: |\n        first line\n          \${{ foo( }}\n`;
      assert.deepEqual(syntaxErrors(text), [['9:20', 'unexpected end of expression', '']]);
    });

    it('are placed inside a plain scalar continued on the next line', () => {
      const text = `${head}      path: some \${{ 1 }}\n        more \${{ (a }}\n`;
      assert.deepEqual(syntaxErrors(text), [['8:21', "missing ')' to close '('", '']]);
    });

    it('are placed in the right expression of several on one line', () => {
      assert.deepEqual(syntaxErrors(`${head}      path: \${{ 1 }} and \${{ inputs. }}\n`).map((e) => e[0]), ['7:38']);
    });

    it('cover an unterminated or empty expression', () => {
      assert.deepEqual(syntaxErrors(`${head}      path: \${{ inputs.x\n`), [["7:13", "unterminated expression: missing '}}'", '${{']]);
      assert.deepEqual(syntaxErrors(`${head}      path: x \${{ }}\n`), [['7:15', 'empty expression', '${{ }}']]);
    });

    it('are placed inside bare if and foreach expressions', () => {
      const text = `name: x\nsteps:\n${STEP}    if: inputs. == 1\n    foreach: "(inputs.x"\n`;
      assert.deepEqual(syntaxErrors(text), [
        ['6:17', "expected a property name or '*' after '.', found '=='", '=='],
        ['7:24', "missing ')' to close '('", ''],
      ]);
    });

    it('are formatted as file:line:col', () => {
      const parsed = parse(`${head}      path: '\${{ 1 + }}'\n`);
      assert.equal(formatDiagnostic(parsed.file, only(parsed, 'expression-syntax')), "w.workflow.yaml:7:20: error: unexpected character '+'");
    });
  });

  describe('source maps of template scalars', () => {
    const text = `name: x\nsteps:\n${STEP}    with:\n      path: "\${{ inputs.a }}-\${{steps.b.output}}-\${{  run.id  }}!"\n`;
    const parsed = parse(text);
    const path = template(entry(parsed.workflow!.steps[0].with, 'path'));
    const value = '${{ inputs.a }}-${{steps.b.output}}-${{  run.id  }}!';

    it('maps every character of the value to the same character in the file', () => {
      assert.equal(path.sourceMap.length, value.length + 1);
      for (let i = 0; i < value.length; i++) assert.equal(text[path.sourceMap[i]], value[i], `character ${i}`);
      assert.equal(path.sourceMap[0], path.range.start + 1, 'just after the opening quote');
      assert.equal(text[path.sourceMap[value.length]], '"', 'the end maps to the closing quote');
    });

    it("follows '' escapes, backslash escapes and folded lines", () => {
      const cases = [
        "      q: '${{ format(''{0}'', fromJSON(''x'')) }}'\n",
        '      q: "\\u0041 ${{ fromJSON(\'x\') }}"\n',
        "      q: ${{ format('{0}',\n        fromJSON('x')) }}\n",
        "      q: |\n        ${{ format('{0}',\n          fromJSON('x')) }}\n",
      ];
      for (const line of cases) {
        const doc = `name: x\nsteps:\n${STEP}    with:\n${line}`;
        const p = parse(doc);
        const q = template(entry(p.workflow!.steps[0].with, 'q'));
        const valueText = String((p.document.getIn(['steps', 0, 'with', 'q']) as string));
        const at = valueText.indexOf('fromJSON');
        assert.equal(doc.slice(q.sourceMap[at], q.sourceMap[at] + 'fromJSON'.length), 'fromJSON', line);
        assert.equal(doc[q.sourceMap[valueText.lastIndexOf(')')]], ')', line);
      }
    });
  });
});
