import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findWorkflowFiles, findWorkflowFilesAsync } from '../../sidecar/workspace/find-workflows';

describe('finding workflow files', () => {
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-find-'));
    const files = ['a.workflow.yaml', 'sub/b.workflow.yml', 'sub/deep/c.workflow.ts', 'sub/notes.yaml', 'node_modules/pkg/x.workflow.yaml', '.git/y.workflow.yaml', 'dist/z.workflow.ts', 'd1/d2/d3/far.workflow.yaml'];
    for (const file of files) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), 'name: x\n');
    }
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds YAML and code-first workflows, skipping dependency and build folders, sorted', async () => {
    const expected = ['a.workflow.yaml', 'd1/d2/d3/far.workflow.yaml', 'sub/b.workflow.yml', 'sub/deep/c.workflow.ts'].map((f) => path.join(root, f));
    assert.deepEqual(findWorkflowFiles(root), expected);
    assert.deepEqual(await findWorkflowFilesAsync(root), expected, 'the editor sees what the sidecar sees');
  });

  it('stops at the depth given, both ways', async () => {
    const shallow = [path.join(root, 'a.workflow.yaml'), path.join(root, 'sub', 'b.workflow.yml')];
    assert.deepEqual(findWorkflowFiles(root, 1), shallow);
    assert.deepEqual(await findWorkflowFilesAsync(root, 1), shallow);
  });
});
