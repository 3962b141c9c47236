import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { RunnableRecipe } from '../../common/registry/install';
import { parseOrchestrateLine, workflowTemplate } from '../../common/registry/workflow-template';
import { SourceFile } from '../../common/source';
import { parseWorkflow } from '../../common/workflow/parse';

const brave: RunnableRecipe = {
  runnable: true,
  kind: 'package',
  registryType: 'npm',
  label: 'npm @brave/brave-search-mcp-server@2.0.24',
  transport: 'stdio',
  command: 'npx',
  args: ['-y', '@brave/brave-search-mcp-server@2.0.24', '--region', '${input:region}'],
  env: { BRAVE_API_KEY: '${input:BRAVE_API_KEY}' },
  headers: {},
  inputs: [
    { id: 'BRAVE_API_KEY', description: 'Your API key', isRequired: true, isSecret: true },
    { id: 'region', description: 'A region code', isRequired: false, isSecret: false },
  ],
  notes: [],
};

describe('orchestrate: a starter workflow', () => {
  it('reads the line, with or without the leading word', () => {
    assert.deepEqual(parseOrchestrateLine('orchestrate memory-agent --with memory,filesystem'), { name: 'memory-agent', servers: ['memory', 'filesystem'] });
    assert.deepEqual(parseOrchestrateLine('agent --with a,a, b'), { error: 'write it as: orchestrate <name> --with <server>,<server> (e.g. orchestrate memory-agent --with memory,filesystem)' });
    assert.deepEqual(parseOrchestrateLine('agent --with a,,a'), { name: 'agent', servers: ['a'] });
  });

  it('declares catalog servers with secrets from the environment, steps from known tools, and says what is missing', () => {
    const { text, missing } = workflowTemplate('research', 'Uses memory, brave.', [
      { key: 'memory', tools: [{ name: 'read_graph', inputSchema: { type: 'object', properties: {} } }] },
      { key: 'brave', recipe: brave, tools: [{ name: 'brave_web_search', inputSchema: { type: 'object', properties: { query: { type: 'string', description: 'What to search' } }, required: ['query'] } }] },
    ]);
    const workflow = parse(text) as Record<string, any>;
    assert.deepEqual(workflow.servers.brave, { command: 'npx', args: ['-y', '@brave/brave-search-mcp-server@2.0.24', '--region', '${{ inputs.brave_region }}'], env: { BRAVE_API_KEY: '${env:BRAVE_API_KEY}' } });
    assert.equal(workflow.servers.memory, undefined, "the workspace's server is used by name");
    assert.deepEqual(workflow.inputs, { brave_region: { type: 'string', description: 'A region code', default: '' }, brave_query: { type: 'string', description: 'What to search' } });
    assert.deepEqual(workflow.steps, [
      { id: 'memory-read_graph', server: 'memory', tool: 'read_graph', with: {} },
      { id: 'brave-brave_web_search', server: 'brave', tool: 'brave_web_search', with: { query: '${{ inputs.brave_query }}' } },
    ]);
    assert.deepEqual(missing, ["set BRAVE_API_KEY in the environment (Your API key; a secret of 'brave')"]);
    const parsed = parseWorkflow(new SourceFile('research.workflow.yaml', text));
    assert.deepEqual(parsed.diagnostics.filter((d) => d.severity === 'error'), [], 'the workflow language reads it');
  });

  it('stays a valid workflow when no tool is known yet, and says how to find them', () => {
    const { text, missing } = workflowTemplate('empty', 'Uses x.', [{ key: 'x', tools: [] }]);
    assert.deepEqual((parse(text) as { steps: unknown[] }).steps, [{ id: 'start', approval: { message: 'Add the steps of empty, then remove this one.' } }]);
    assert.match(missing[0], /the tools of 'x' are not known yet: list them with `openconductor servers tools x`/);
    assert.deepEqual(parseWorkflow(new SourceFile('empty.workflow.yaml', text)).diagnostics.filter((d) => d.severity === 'error'), []);
  });
});
