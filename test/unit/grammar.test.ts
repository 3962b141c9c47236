import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_FUNCTIONS } from '../../common/expressions';
import { formatDiagnostic } from '../../common/diagnostics';
import { parseMcpConfig } from '../../common/servers';
import { SourceFile } from '../../common/source';
import { parseWorkflow } from '../../common/workflow/parse';
import { CONTEXTS, validateWorkflow } from '../../common/workflow/validate';

const ROOT = join(__dirname, '..', '..');

interface GrammarPattern {
  name?: string;
  match?: string;
}

function grammarPatterns(): GrammarPattern[] {
  const grammar = JSON.parse(readFileSync(join(ROOT, 'syntaxes', 'workflow-expression.injection.tmLanguage.json'), 'utf8')) as {
    repository: { expression: { patterns: GrammarPattern[] } };
  };
  return grammar.repository.expression.patterns;
}

/** The alternatives of the `\b(a|b|c)` group of the pattern with the given scope name. */
function alternatives(scope: string): string[] {
  const pattern = grammarPatterns().find((p) => p.name === scope);
  assert.ok(pattern?.match, `the grammar has a '${scope}' match pattern`);
  const group = /^\\b\(([A-Za-z|]+)\)/.exec(pattern.match);
  assert.ok(group, `'${scope}' starts with a \\b(…|…) group: ${pattern.match}`);
  return group[1].split('|');
}

describe('TextMate grammar of expressions', () => {
  it('highlights exactly the built-in functions', () => {
    const inGrammar = alternatives('support.function.openconductor');
    assert.equal(new Set(inGrammar).size, inGrammar.length, 'no function listed twice');
    assert.deepEqual([...inGrammar].sort(), BUILTIN_FUNCTIONS.map((f) => f.name).sort());
  });

  it('highlights exactly the contexts some place of a workflow may read', () => {
    const inGrammar = alternatives('variable.language.context.openconductor');
    const contexts = new Set(Object.values(CONTEXTS).flat());
    assert.deepEqual([...inGrammar].sort(), [...contexts].sort());
  });

  it('matches a function only when it is called', () => {
    const pattern = grammarPatterns().find((p) => p.name === 'support.function.openconductor')!;
    const re = new RegExp(pattern.match!);
    assert.match("format('{0}', x)", re);
    assert.match('length (steps.a.output)', re);
    assert.doesNotMatch('steps.join.output', re);
  });
});

describe('the examples', () => {
  const examplesDir = join(ROOT, 'examples');
  const examples = readdirSync(examplesDir)
    .filter((n) => n.endsWith('.workflow.yaml') || n.endsWith('.workflow.yml'))
    .sort();
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'workflow.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const mcp = parseMcpConfig(new SourceFile('examples/.vscode/mcp.json', readFileSync(join(examplesDir, '.vscode', 'mcp.json'), 'utf8')));

  it('exist, and their mcp.json parses cleanly', () => {
    assert.ok(examples.length >= 3, `expected the example workflows, found ${examples.join(', ')}`);
    assert.deepEqual(mcp.diagnostics, []);
    assert.ok(mcp.servers.size > 0);
  });

  for (const name of examples) {
    describe(name, () => {
      const text = readFileSync(join(examplesDir, name), 'utf8');

      it('is accepted by schemas/workflow.schema.json', () => {
        const ok = validate(parseYaml(text));
        assert.ok(ok, JSON.stringify(validate.errors, null, 2));
      });

      it('parses and validates with no errors against the servers of .vscode/mcp.json', () => {
        const file = new SourceFile(`examples/${name}`, text);
        const parsed = parseWorkflow(file);
        assert.ok(parsed.workflow);
        const diagnostics = [...parsed.diagnostics, ...validateWorkflow(parsed, { externalServers: mcp.servers.keys() })];
        const errors = diagnostics.filter((d) => d.severity === 'error');
        assert.deepEqual(errors.map((d) => formatDiagnostic(file, d)), []);
        assert.ok(parsed.workflow.steps.length > 0);
      });
    });
  }

  it('the schema check is not vacuous: a broken copy of an example is rejected', () => {
    const text = readFileSync(join(examplesDir, examples[0]), 'utf8');
    const data = parseYaml(text) as { steps: Array<Record<string, unknown>> };
    data.steps[0].retries = 3;
    assert.equal(validate(data), false);
    assert.ok(validate.errors?.some((e) => e.keyword === 'additionalProperties'));
  });
});
