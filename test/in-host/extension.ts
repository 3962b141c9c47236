import * as fs from 'node:fs';
import Mocha from 'mocha';

/** One test's outcome, as the e2e test reads it. */
interface Result {
  title: string;
  state: 'passed' | 'failed';
  error?: string;
}

/** Runs the suite when the e2e harness asks for it (an environment variable names the results file). */
export function activate(): void {
  const file = process.env.OPENCONDUCTOR_IN_HOST_RESULTS;
  if (!file) return;
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, reporter: function silent() {} as never });
  mocha.suite.emit('pre-require', globalThis, 'suite.ts', mocha);
  // The suite's describe/it run now, against the globals mocha just defined.
  require('./suite');
  const results: Result[] = [];
  const runner = mocha.run((failures) => fs.writeFileSync(file, JSON.stringify({ failures, results }, null, 2)));
  runner.on('pass', (test) => results.push({ title: test.fullTitle(), state: 'passed' }));
  runner.on('fail', (test, error: Error) => results.push({ title: test.fullTitle(), state: 'failed', error: error.stack ?? error.message }));
}
