/** A sidecar for an untrusted workspace (`--restricted`): browsing works, nothing runs and no server starts. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { cli, makeWorkspace } from '../support/cli';
import { killHard, startSidecar } from '../support/sidecar';

describe('a restricted sidecar (untrusted workspace)', function () {
  this.timeout(60_000);

  it('refuses to run a workflow or start a server, and still answers what only reads', async () => {
    const dir = makeWorkspace('restricted');
    const log: string[] = [];
    const sidecar = startSidecar(dir, log, ['--restricted']);
    try {
      await sidecar.ready;
      assert.match(log.join(''), /restricted \(an untrusted workspace\)/);
      const run = await cli(['run', 'team-graph.workflow.yaml'], { cwd: dir });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /this workspace is not trusted: OpenConductor does not run a workflow in it\. Trust the workspace to allow it\./);
      const introspect = await cli(['registry', 'introspect', 'anything'], { cwd: dir });
      assert.equal(introspect.code, 1);
      assert.match(introspect.stderr, /not trusted: OpenConductor does not start a server from the registry/);
      const sources = await cli(['registry', 'sources', '--json'], { cwd: dir });
      assert.equal(sources.code, 0, sources.stderr);
      assert.deepEqual((JSON.parse(sources.stdout) as Array<{ name: string }>).map((s) => s.name), ['official', 'github', 'glama']);
      const runs = await cli(['runs', 'list'], { cwd: dir });
      assert.equal(runs.code, 0, runs.stderr);
      assert.ok(!fs.existsSync(`${dir}/.openconductor/logs`), 'no server was started (none logged)');
    } finally {
      await killHard(sidecar.child);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
