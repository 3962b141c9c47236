/**
 * The in-host mocha suite (test/in-host/suite.ts): installed as a test extension beside OpenConductor, it runs inside
 * the real extension host against the real `vscode` API and writes its results to a file this test reads.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyWorkspace, packageInHostTests, poll, ROOT, withVsCode } from '../support/vscode';

describe('e2e: the in-host suite, inside the extension host', function () {
  this.timeout(300_000);
  const results = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'oc-in-host-')), 'results.json');
  const vscode = withVsCode(() => ({ workspace: copyWorkspace('examples'), name: 'in-host', env: { OPENCONDUCTOR_IN_HOST_RESULTS: results }, extraVsix: [packageInHostTests()] }));

  it('passes every test of the suite', async () => {
    vscode();
    const report = await poll(async () => (fs.existsSync(results) ? (JSON.parse(fs.readFileSync(results, 'utf8')) as { failures: number; results: Array<{ title: string; state: string; error?: string }> }) : undefined), 'the in-host suite to write its results', 240_000);
    const failed = report.results.filter((r) => r.state === 'failed');
    assert.deepEqual(failed.map((f) => `${f.title}\n${f.error}`), []);
    assert.equal(report.failures, 0);
    // Every test the suite declares ran (none skipped or lost on the way).
    const declared = fs.readFileSync(path.join(ROOT, 'test', 'in-host', 'suite.ts'), 'utf8').match(/^\s*it\(/gm)?.length;
    assert.equal(report.results.length, declared, report.results.map((r) => r.title).join('\n'));
    fs.rmSync(path.dirname(results), { recursive: true, force: true });
  });
});
