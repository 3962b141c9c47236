import assert from 'node:assert/strict';
import { formatDiagnostic, type Diagnostic } from '../../common/diagnostics';
import { SourceFile, type Range } from '../../common/source';
import { parseRate } from '../../common/workflow/duration';
import { compensationExpressionSites, findCycles, stepDependencies, stepExpressionSites } from '../../common/workflow/graph';
import { CIRCUIT_BREAKER_DEFAULTS, type StepDefinition, type ValueTemplate } from '../../common/workflow/model';
import { parseWorkflow, type ParsedWorkflow } from '../../common/workflow/parse';
import type { ToolInfo } from '../../common/workflow/tool-arguments';
import { validateWorkflow, type ValidationContext } from '../../common/workflow/validate';

function parse(text: string): ParsedWorkflow {
  return parseWorkflow(new SourceFile('w.workflow.yaml', text));
}

function at(parsed: ParsedWorkflow, r: Range): string {
  const { line, column } = parsed.file.position(r.start);
  return `${line}:${column}`;
}

function covered(parsed: ParsedWorkflow, r: Range): string {
  return parsed.file.text.slice(r.start, r.end);
}

/** Each diagnostic as `line:col code message`, with the text it covers, in document order. */
function summary(parsed: ParsedWorkflow, diagnostics: Diagnostic[] = parsed.diagnostics): Array<[string, string, string, string]> {
  return [...diagnostics]
    .sort((a, b) => a.range.start - b.range.start)
    .map((d) => [at(parsed, d.range), d.code ?? '', d.message, covered(parsed, d.range)]);
}

/** Parses, asserts the file parses cleanly, then validates. */
function check(text: string, context: Partial<ValidationContext> = {}): { parsed: ParsedWorkflow; diagnostics: Diagnostic[] } {
  const parsed = parse(text);
  assert.deepEqual(parsed.diagnostics.map((d) => formatDiagnostic(parsed.file, d)), [], 'the test workflow should parse cleanly');
  return { parsed, diagnostics: validateWorkflow(parsed, { externalServers: ['fs', 'payments'], ...context }) };
}

function stepOf(parsed: ParsedWorkflow, id: string): StepDefinition {
  const step = parsed.workflow?.steps.find((s) => s.id === id);
  assert.ok(step, `no step '${id}'`);
  return step;
}

/** The source of every expression in a value template. */
function expressions(value: ValueTemplate | undefined): string[] {
  if (!value) return [];
  switch (value.kind) {
    case 'template':
      return value.template.parts.flatMap((p) => (p.kind === 'expression' ? [p.source.trim()] : []));
    case 'object':
      return value.entries.flatMap((e) => expressions(e.value));
    case 'array':
      return value.items.flatMap(expressions);
    case 'literal':
      return [];
  }
}

const TEMPORAL_RETRY = { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 100_000, maximumAttempts: 0, nonRetryableErrorTypes: [] };

const CHARGE: ToolInfo = { name: 'charge', inputSchema: { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] } };
const REFUND: ToolInfo = { name: 'refund', inputSchema: { type: 'object', properties: { chargeId: { type: 'string' } }, required: ['chargeId'] } };
const NOTIFY: ToolInfo = { name: 'notify', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } };
const toolsOf = (server: string): ToolInfo[] | undefined => (server === 'payments' ? [CHARGE, REFUND] : server === 'fs' ? [NOTIFY] : undefined);

const W = 'name: w\nsteps:\n';

describe('durable execution in the workflow language', () => {
  describe('a workflow using every feature', () => {
    const text = [
      'name: checkout', // 1
      'inputs:',
      "  version: {default: '1.0'}",
      'defaults:',
      '  timeout: 30s', // 5
      '  stepTimeout: 5m',
      '  retry:',
      '    maximumAttempts: 3',
      '    initialInterval: 1s',
      '    backoffCoefficient: 2', // 10
      '    maximumInterval: 30s',
      '    nonRetryableErrorTypes: [ToolError]',
      '  circuitBreaker:',
      '    failureRateThreshold: 50%',
      '    window: 60s', // 15
      '    minimumCalls: 10',
      '    resetTimeout: 30s',
      '    halfOpenCalls: 1',
      'circuitBreakers:',
      '  payments: { failureRateThreshold: 0.2, minimumCalls: 5 }', // 20
      'steps:',
      '  - id: charge',
      '    server: payments',
      '    tool: charge',
      '    with: { amount: 10 }', // 25
      '    timeout: 10s',
      '    stepTimeout: 2m',
      '    retry: { maximumAttempts: 5 }',
      '    compensate:',
      '      tool: refund', // 30
      '      with:',
      '        chargeId: ${{ output.id }}',
      '  - id: review',
      '    approval:',
      '      message: Deploy ${{ inputs.version }}?', // 35
      '      timeout: 1h',
      '      onTimeout: approve',
      '      onReject: continue',
      '  - id: cool-down',
      '    wait: 5m', // 40
      '  - id: until',
      '    wait: { until: 2026-12-01T09:00:00Z }',
      '  - id: payment',
      '    signal:',
      '      name: payment-received', // 45
      '      timeout: 24h',
      '  - id: ship',
      '    server: fs',
      '    tool: notify',
      '    foreach: [a, b]', // 50
      '    with: { text: "${{ item }}" }',
      '    compensate:',
      '      server: payments',
      '      tool: refund',
      '      with: { chargeId: "${{ index }}-${{ output.id }}" }', // 55
      '  - id: once',
      '    server: fs',
      '    tool: notify',
      '    retry: false',
      '    with: { text: hi }',
      '',
    ].join('\n');
    const parsed = parse(text);
    const workflow = parsed.workflow!;

    it('parses and validates without diagnostics', () => {
      assert.deepEqual(summary(parsed), []);
      assert.deepEqual(summary(parsed, validateWorkflow(parsed, { externalServers: ['payments', 'fs'], toolsOf })), []);
    });

    it('gives each step its kind', () => {
      assert.deepEqual(
        workflow.steps.map((s) => [s.id, s.kind]),
        [
          ['charge', 'call'],
          ['review', 'approval'],
          ['cool-down', 'wait'],
          ['until', 'wait'],
          ['payment', 'signal'],
          ['ship', 'call'],
          ['once', 'call'],
        ],
      );
    });

    it('reads the defaults: timeouts, the retry policy and the circuit breaker', () => {
      assert.deepEqual(workflow.defaults, {
        timeoutMs: 30_000,
        stepTimeoutMs: 300_000,
        retry: { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 30_000, maximumAttempts: 3, nonRetryableErrorTypes: ['ToolError'] },
        circuitBreaker: { failureRateThreshold: 0.5, windowMs: 60_000, minimumCalls: 10, resetTimeoutMs: 30_000, halfOpenCalls: 1 },
      });
    });

    it('merges each server circuit breaker over the default one', () => {
      assert.deepEqual([...workflow.circuitBreakers], [
        ['payments', { failureRateThreshold: 0.2, windowMs: 60_000, minimumCalls: 5, resetTimeoutMs: 30_000, halfOpenCalls: 1 }],
      ]);
    });

    it("fills a step's retry fields from Temporal's defaults, not from defaults.retry", () => {
      const charge = stepOf(parsed, 'charge');
      assert.deepEqual(charge.retry, { ...TEMPORAL_RETRY, maximumAttempts: 5 });
      assert.equal(charge.timeoutMs, 10_000);
      assert.equal(charge.stepTimeoutMs, 120_000);
    });

    it('gives steps without retry the default policy, and none to a step with retry: false', () => {
      assert.deepEqual(stepOf(parsed, 'ship').retry, workflow.defaults.retry);
      assert.equal(stepOf(parsed, 'once').retry, undefined);
      assert.equal('retry' in stepOf(parsed, 'once'), false);
    });

    it('gives call steps without stepTimeout the default one, and leaves their timeout to defaults.timeout', () => {
      const ship = stepOf(parsed, 'ship');
      assert.equal(ship.stepTimeoutMs, 300_000);
      assert.equal(ship.timeoutMs, undefined);
    });

    it("reads compensate, with the step's server when it names none", () => {
      const charge = stepOf(parsed, 'charge');
      const compensate = charge.compensate!;
      assert.equal(compensate.server, charge.server);
      assert.equal(compensate.tool.name, 'refund');
      assert.equal(at(parsed, compensate.tool.range), '30:13');
      assert.equal(at(parsed, compensate.range), '30:7');
      assert.deepEqual(expressions(compensate.with), ['output.id']);
      const ship = stepOf(parsed, 'ship').compensate!;
      assert.equal(ship.server.name, 'payments');
      assert.equal(at(parsed, ship.server.range), '53:15');
      assert.deepEqual(expressions(ship.with), ['index', 'output.id']);
    });

    it('reads an approval with its message as a template', () => {
      const review = stepOf(parsed, 'review');
      const { message: _message, range: _range, ...settings } = review.approval!;
      assert.deepEqual(settings, { timeoutMs: 3_600_000, onTimeout: 'approve', onReject: 'continue' });
      assert.deepEqual(expressions(review.approval?.message), ['inputs.version']);
      assert.equal(covered(parsed, review.approval!.message!.range), 'Deploy ${{ inputs.version }}?');
      assert.equal(at(parsed, review.approval!.range), '35:7');
    });

    it('gives steps that call no tool empty server and tool names, and none of the keys of calls', () => {
      for (const id of ['review', 'cool-down', 'until', 'payment']) {
        const step = stepOf(parsed, id);
        assert.equal(step.server.name, '', id);
        assert.equal(step.tool.name, '', id);
        for (const key of ['with', 'foreach', 'timeoutMs', 'stepTimeoutMs', 'retry', 'compensate'] as const) {
          assert.equal(step[key], undefined, `${id}.${key}`);
        }
      }
    });

    it('reads a wait as a duration or an until', () => {
      assert.deepEqual(stepOf(parsed, 'cool-down').wait, { durationMs: 300_000, range: stepOf(parsed, 'cool-down').wait!.range });
      assert.equal(at(parsed, stepOf(parsed, 'cool-down').wait!.range), '40:11');
      const until = stepOf(parsed, 'until').wait!;
      assert.equal(until.durationMs, undefined);
      assert.deepEqual(until.until && { kind: until.until.kind, value: until.until.kind === 'literal' && until.until.value }, {
        kind: 'literal',
        value: '2026-12-01T09:00:00Z',
      });
      assert.equal(at(parsed, until.until!.range), '42:20');
    });

    it('reads a signal', () => {
      const { signal } = stepOf(parsed, 'payment');
      assert.deepEqual(signal, { name: 'payment-received', timeoutMs: 86_400_000, range: signal!.range });
      assert.equal(at(parsed, signal!.range), '45:7');
    });
  });

  describe('defaults of the new blocks', () => {
    it('uses the circuit breaker defaults, no retry and no step timeout when the workflow sets none', () => {
      const parsed = parse(`${W}  - id: a\n    server: fs\n    tool: t\n`);
      const workflow = parsed.workflow!;
      assert.deepEqual(workflow.defaults, { timeoutMs: 60_000, circuitBreaker: CIRCUIT_BREAKER_DEFAULTS });
      assert.notEqual(workflow.defaults.circuitBreaker, CIRCUIT_BREAKER_DEFAULTS, 'a copy, not the shared constant');
      assert.equal(workflow.circuitBreakers.size, 0);
      assert.equal(workflow.steps[0].retry, undefined);
      assert.equal(workflow.steps[0].stepTimeoutMs, undefined);
    });

    it("takes maximumInterval as 100 × initialInterval when left out", () => {
      const parsed = parse(`${W}  - id: a\n    server: fs\n    tool: t\n    retry: { initialInterval: 2s, backoffCoefficient: 1.5 }\n`);
      assert.deepEqual(parsed.workflow!.steps[0].retry, { ...TEMPORAL_RETRY, initialIntervalMs: 2000, backoffCoefficient: 1.5, maximumIntervalMs: 200_000 });
    });

    it('reads an empty retry block as the whole of Temporal\'s defaults', () => {
      const parsed = parse(`${W}  - id: a\n    server: fs\n    tool: t\n    retry: {}\n`);
      assert.deepEqual(parsed.workflow!.steps[0].retry, TEMPORAL_RETRY);
    });

    it('defaults an approval to reject on timeout and fail on rejection, with no timeout', () => {
      const parsed = parse(`${W}  - id: ok\n    approval: {}\n`);
      const { approval } = parsed.workflow!.steps[0];
      assert.deepEqual(approval, { onTimeout: 'reject', onReject: 'fail', range: approval!.range });
    });

    it('merges circuitBreakers over defaults.circuitBreaker, and that over the built-in defaults', () => {
      const text = `name: w\ndefaults:\n  circuitBreaker: { window: 2m, halfOpenCalls: 3 }\ncircuitBreakers:\n  fs: { resetTimeout: 10s }\n  payments: {}\n${W.slice(8)}  - id: a\n    server: fs\n    tool: t\n`;
      const workflow = check(text).parsed.workflow!;
      const base = { ...CIRCUIT_BREAKER_DEFAULTS, windowMs: 120_000, halfOpenCalls: 3 };
      assert.deepEqual(workflow.defaults.circuitBreaker, base);
      assert.deepEqual(Object.fromEntries(workflow.circuitBreakers), { fs: { ...base, resetTimeoutMs: 10_000 }, payments: base });
    });

    it('keeps an until computed by an expression as a template', () => {
      const parsed = parse(`name: w\ninputs:\n  at: {default: '2026-01-01T00:00:00Z'}\nsteps:\n  - id: a\n    wait: { until: '\${{ inputs.at }}' }\n`);
      const { wait } = parsed.workflow!.steps[0];
      assert.equal(wait?.until?.kind, 'template');
      assert.deepEqual(expressions(wait?.until), ['inputs.at']);
    });
  });

  describe('failure rates', () => {
    it('reads percentages and numbers in (0, 1]', () => {
      assert.deepEqual(['50%', '12.5%', ' 100 % ', '0.5%', 0.2, 1].map(parseRate), [0.5, 0.125, 1, 0.005, 0.2, 1]);
      assert.deepEqual(['0%', '150%', 0, 1.5, -0.5, 'half', '50', true, NaN].map(parseRate), Array(9).fill(undefined));
    });

    it('parses a percentage in the file', () => {
      const parsed = parse(`name: w\ncircuitBreakers:\n  fs: { failureRateThreshold: 12.5% }\n${W.slice(8)}  - id: a\n    server: fs\n    tool: t\n`);
      assert.deepEqual(summary(parsed), []);
      assert.equal(parsed.workflow!.circuitBreakers.get('fs')?.failureRateThreshold, 0.125);
    });

    const cases: Array<[string, string, string]> = [
      ['0%', '3:31', '"0%"'],
      ['150%', '3:31', '"150%"'],
      ['0', '3:31', '0'],
      ['1.5', '3:31', '1.5'],
      ['half', '3:31', '"half"'],
      ['true', '3:31', 'true'],
    ];
    for (const [value, where, shown] of cases) {
      it(`reports failureRateThreshold ${value} in one message`, () => {
        const parsed = parse(`name: w\ncircuitBreakers:\n  fs: { failureRateThreshold: ${value} }\n${W.slice(8)}  - id: a\n    server: fs\n    tool: t\n`);
        assert.deepEqual(summary(parsed), [
          [
            where,
            'schema',
            `'failureRateThreshold' of the circuit breaker of 'fs' is ${shown}: write a percentage such as 50%, or a number greater than 0 and at most 1.`,
            value,
          ],
        ]);
        assert.equal(parsed.workflow!.circuitBreakers.get('fs')?.failureRateThreshold, 0.5, 'the default stands in');
      });
    }

    it('reports a bad rate in defaults.circuitBreaker', () => {
      const parsed = parse(`name: w\ndefaults:\n  circuitBreaker:\n    failureRateThreshold: 50 percent\n${W.slice(8)}  - id: a\n    server: fs\n    tool: t\n`);
      assert.deepEqual(summary(parsed).map((s) => s.slice(0, 3)), [
        ['4:27', 'schema', `'defaults.circuitBreaker.failureRateThreshold' is "50 percent": write a percentage such as 50%, or a number greater than 0 and at most 1.`],
      ]);
    });
  });

  describe('what a step does', () => {
    it('needs one of tool, approval, wait, signal', () => {
      const parsed = parse(`${W}  - id: x\n    with: { a: 1 }\n`);
      assert.deepEqual(summary(parsed), [['3:5', 'schema', "step 'x' needs one of: tool (with server), approval, wait, signal.", 'id']]);
    });

    it('still says a step with a server is missing its tool', () => {
      const parsed = parse(`${W}  - id: x\n    server: fs\n`);
      assert.deepEqual(summary(parsed), [['3:5', 'schema', "step 'x' is missing 'tool'.", 'id']]);
    });

    it('says a step with a tool is missing its server', () => {
      const parsed = parse(`${W}  - id: x\n    tool: t\n`);
      assert.deepEqual(summary(parsed), [['3:5', 'schema', "step 'x' is missing 'server'.", 'id']]);
    });

    it("reports a step with both 'tool' and 'wait' once, on the second", () => {
      const parsed = parse(`${W}  - id: x\n    server: fs\n    tool: t\n    wait: 5m\n`);
      assert.deepEqual(summary(parsed), [['6:5', 'schema', "step 'x' has both 'tool' and 'wait': a step does one thing.", 'wait']]);
      assert.equal(parsed.workflow!.steps[0].kind, 'call');
    });

    it("reports a step with both 'approval' and 'signal'", () => {
      const parsed = parse(`${W}  - id: x\n    signal: { name: go }\n    approval: {}\n`);
      assert.deepEqual(summary(parsed), [['5:5', 'schema', "step 'x' has both 'signal' and 'approval': a step does one thing.", 'approval']]);
      assert.equal(parsed.workflow!.steps[0].kind, 'approval', 'tool, approval, wait, signal: the first decides');
    });

    it('reports three kinds in one message', () => {
      const parsed = parse(`${W}  - id: x\n    wait: 5m\n    server: fs\n    tool: t\n    signal: { name: go }\n`);
      assert.deepEqual(summary(parsed), [['6:5', 'schema', "step 'x' has 'wait', 'tool' and 'signal': a step does one thing.", 'tool']]);
    });

    const callOnly: Array<[string, string]> = [
      ['server', 'fs'],
      ['with', '{ a: 1 }'],
      ['foreach', '[1, 2]'],
      ['concurrency', '2'],
      ['timeout', '5s'],
      ['stepTimeout', '5m'],
      ['retry', '{ maximumAttempts: 2 }'],
      ['compensate', '{ tool: undo }'],
    ];
    const kinds: Array<[string, string, string]> = [
      ['approval', 'approval: {}', 'waits for an approval'],
      ['wait', 'wait: 1h', 'waits for a time'],
      ['signal', 'signal: { name: go }', 'waits for a signal'],
    ];
    for (const [kind, line, words] of kinds) {
      for (const [key, value] of callOnly) {
        it(`reports '${key}' on a ${kind} step, on the key`, () => {
          const parsed = parse(`${W}  - id: x\n    ${line}\n    ${key}: ${value}\n`);
          assert.deepEqual(summary(parsed), [['5:5', 'schema', `step 'x' ${words}: '${key}' only applies to steps that call a tool.`, key]]);
        });
      }
    }

    it('reports each problem of a step once', () => {
      const parsed = parse(`${W}  - id: x\n    approval: {}\n    wait: 5m\n    retry: { maximumAttempts: 2 }\n    timeout: 5s\n`);
      assert.deepEqual(summary(parsed), [
        ['5:5', 'schema', "step 'x' has both 'approval' and 'wait': a step does one thing.", 'wait'],
        ['6:5', 'schema', "step 'x' waits for an approval: 'retry' only applies to steps that call a tool.", 'retry'],
        ['7:5', 'schema', "step 'x' waits for an approval: 'timeout' only applies to steps that call a tool.", 'timeout'],
      ]);
    });

    it('allows needs, if, name and outputs on every kind', () => {
      const text = `${W}  - id: a\n    server: fs\n    tool: t\n  - id: x\n    name: Approve\n    needs: a\n    if: inputs.go || true\n    approval: {}\n    outputs:\n      ok: \${{ output.approved }}\n`;
      assert.deepEqual(summary(parse(text)), []);
    });
  });

  describe('schema errors of the new blocks', () => {
    const call = `${W}  - id: a\n    server: fs\n    tool: t\n`;

    it('reports retry: true and retry: 3 as neither a policy nor false', () => {
      for (const [value, shown] of [['true', 'boolean true'], ['3', 'number 3'], ['[1]', 'a list']]) {
        const parsed = parse(`${call}    retry: ${value}\n`);
        assert.deepEqual(summary(parsed), [['6:12', 'schema', `'retry' of step 'a' must be a retry policy (a mapping) or false, not ${shown}.`, value]]);
      }
    });

    it('reports the fields of a retry policy', () => {
      const text = `${call}    retry:\n      maximumAttempts: -1\n      backoffCoefficient: 0.5\n      initialInterval: soon\n      maximumAtempts: 3\n`;
      assert.deepEqual(summary(parse(text)), [
        ['7:24', 'schema', "'retry.maximumAttempts' of step 'a' must be at least 0.", '-1'],
        ['8:27', 'schema', "'retry.backoffCoefficient' of step 'a' must be at least 1.", '0.5'],
        ['9:24', 'schema', `'retry.initialInterval' of step 'a' is "soon", not a duration: write milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h.`, 'soon'],
        [
          '10:7',
          'schema',
          "unknown key 'maximumAtempts' in 'retry' of step 'a'. Did you mean 'maximumAttempts'? Allowed keys: maximumAttempts, initialInterval, backoffCoefficient, maximumInterval, nonRetryableErrorTypes.",
          'maximumAtempts',
        ],
      ]);
    });

    it('reports error types that are misspelt or never retried anyway', () => {
      const parsed = parse(`${call}    retry: { nonRetryableErrorTypes: [Timout, UnknownTool, Timeout, Timeout] }\n`);
      const allowed = 'Error types a policy may retry: ToolError, Timeout, ServerStartFailed, ServerCrashed, ProtocolError, CircuitOpen.';
      assert.deepEqual(summary(parsed), [
        ['6:38', 'schema', "'retry.nonRetryableErrorTypes' of step 'a' lists the same item twice.", '[Timout, UnknownTool, Timeout, Timeout]'],
        ['6:39', 'schema', `'retry.nonRetryableErrorTypes' of step 'a' lists "Timout", which is not an error type. Did you mean 'Timeout'? ${allowed}`, 'Timout'],
        ['6:47', 'schema', `'retry.nonRetryableErrorTypes' of step 'a' lists 'UnknownTool', which is never retried anyway: leave it out. ${allowed}`, 'UnknownTool'],
      ]);
    });

    it('reports a maximumInterval shorter than the initialInterval, given or default', () => {
      const given = parse(`${call}    retry: { initialInterval: 2s, maximumInterval: 1500ms }\n`);
      assert.deepEqual(summary(given), [
        [
          '6:52',
          'retry',
          "'retry' of step 'a': maximumInterval (1500ms) is shorter than initialInterval (2s); the delay between attempts starts at initialInterval and grows up to maximumInterval.",
          '1500ms',
        ],
      ]);
      const defaulted = parse(`name: w\ndefaults:\n  retry: { maximumInterval: 500 }\n${call.slice(8)}`);
      assert.deepEqual(summary(defaulted).map((s) => s.slice(0, 3)), [
        [
          '3:29',
          'retry',
          "'defaults.retry': maximumInterval (500) is shorter than initialInterval (1s, the default); the delay between attempts starts at initialInterval and grows up to maximumInterval.",
        ],
      ]);
    });

    it('reports the durations of defaults and steps', () => {
      const text = `name: w\ndefaults:\n  stepTimeout: forever\n${call.slice(8)}    stepTimeout: 0\n`;
      assert.deepEqual(summary(parse(text)).map((s) => s.slice(0, 3)), [
        ['3:16', 'schema', `'defaults.stepTimeout' is "forever", not a duration: write milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h.`],
        ['8:18', 'schema', "'stepTimeout' of step 'a' must be at least 1."],
      ]);
    });

    it('reports a compensation without tool, and unknown keys in it', () => {
      const parsed = parse(`${call}    compensate:\n      server: fs\n      args: { a: 1 }\n`);
      assert.deepEqual(summary(parsed), [
        ['7:7', 'schema', "'compensate' of step 'a' is missing 'tool'.", 'server'],
        ['8:7', 'schema', "unknown key 'args' in 'compensate' of step 'a'. Allowed keys: server, tool, with.", 'args'],
      ]);
    });

    it('reports approvals written wrongly', () => {
      const text = `${W}  - id: a\n    approval:\n  - id: b\n    approval: { onTimeout: maybe, onReject: skip, timeout: 1 day }\n`;
      assert.deepEqual(summary(parse(text)), [
        ['4:5', 'schema', "'approval' of step 'a' must be a mapping, not null.", 'approval'],
        ['6:28', 'schema', `'approval.onTimeout' of step 'b' must be one of "approve", "reject", not "maybe".`, 'maybe'],
        ['6:45', 'schema', `'approval.onReject' of step 'b' must be one of "fail", "continue", not "skip".`, 'skip'],
        ['6:60', 'schema', `'approval.timeout' of step 'b' is "1 day", not a duration: write milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h.`, '1 day'],
      ]);
    });

    it('reports waits written wrongly', () => {
      const text = `${W}  - id: a\n    wait: true\n  - id: b\n    wait: soon\n  - id: c\n    wait: {}\n  - id: d\n    wait: { until: 5 }\n`;
      assert.deepEqual(summary(parse(text)), [
        ['4:11', 'schema', "'wait' of step 'a' must be a duration (such as 30s or 5m) or a mapping with 'until', not boolean true.", 'true'],
        ['6:11', 'schema', `'wait' of step 'b' is "soon", not a duration: write milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h.`, 'soon'],
        ['8:11', 'schema', "'wait' of step 'c' is missing 'until'.", '{}'],
        ['10:20', 'schema', "'wait.until' of step 'd' must be a string, not number 5.", '5'],
      ]);
    });

    it('reports signals written wrongly', () => {
      const text = `${W}  - id: a\n    signal: { timeout: 1h }\n  - id: b\n    signal: { name: 2fa }\n`;
      assert.deepEqual(summary(parse(text)), [
        ['4:15', 'schema', "'signal' of step 'a' is missing 'name'.", 'timeout'],
        ['6:21', 'schema', `'signal.name' of step 'b' is "2fa": it must start with a letter or '_' and hold only letters, digits, '_' and '-'.`, '2fa'],
      ]);
    });

    it('reports circuit breakers written wrongly, and an invalid server name once', () => {
      const text = `name: w\ncircuitBreakers:\n  "a b": {}\n  fs: { window: forever, minimumCalls: 0, halfOpen: 1 }\n${call.slice(8)}`;
      assert.deepEqual(summary(parse(text)), [
        ['3:3', 'schema', "'circuitBreakers' has an invalid name 'a b': server names hold only letters, digits, '_', '.' and '-'.", '"a b"'],
        ['4:17', 'schema', `'window' of the circuit breaker of 'fs' is "forever", not a duration: write milliseconds as a number, or a string such as 500ms, 30s, 5m, 1h.`, 'forever'],
        ['4:40', 'schema', "'minimumCalls' of the circuit breaker of 'fs' must be at least 1.", '0'],
        [
          '4:43',
          'schema',
          "unknown key 'halfOpen' in the circuit breaker of 'fs'. Allowed keys: failureRateThreshold, window, minimumCalls, resetTimeout, halfOpenCalls.",
          'halfOpen',
        ],
      ]);
    });

    it('reports an invalid name under servers: and inputs: once', () => {
      const text = `name: w\ninputs:\n  "a b": {}\nservers:\n  "c d": { command: x }\n${call.slice(8)}`;
      assert.deepEqual(summary(parse(text)).map((s) => s.slice(0, 3)), [
        ['3:3', 'schema', "'inputs' has an invalid name 'a b': names start with a letter or '_' and hold only letters, digits, '_' and '-'."],
        ['5:3', 'schema', "'servers' has an invalid name 'c d': server names hold only letters, digits, '_', '.' and '-'."],
      ]);
    });
  });

  describe('validation', () => {
    const charge = (extra = '', id = 'charge') => `  - id: ${id}\n    server: payments\n    tool: charge\n    with: { amount: 10 }\n${extra}`;

    it('reports an unknown compensation server with a suggestion', () => {
      const c = check(`${W}${charge('    compensate: { server: paymnts, tool: refund }\n')}`);
      assert.deepEqual(summary(c.parsed, c.diagnostics), [
        [
          '7:27',
          'unknown-server',
          "unknown server 'paymnts': declare it under 'servers:' or in .vscode/mcp.json. Did you mean 'payments'? Known servers: fs, payments.",
          'paymnts',
        ],
      ]);
    });

    it("does not report the step's unknown server a second time for its compensation", () => {
      const c = check(`${W}  - id: a\n    server: paymnts\n    tool: charge\n    compensate: { tool: refund }\n`, { toolsOf });
      assert.deepEqual(summary(c.parsed, c.diagnostics).map((s) => s.slice(0, 2)), [['4:13', 'unknown-server']]);
    });

    it('checks the compensation tool and its arguments when the tools are known', () => {
      const unknown = check(`${W}${charge('    compensate: { tool: refnd }\n')}`, { toolsOf });
      assert.deepEqual(summary(unknown.parsed, unknown.diagnostics), [
        ['7:25', 'unknown-tool', "server 'payments' has no tool 'refnd'. Did you mean 'refund'? Its tools: charge, refund.", 'refnd'],
      ]);
      const args = check(`${W}${charge('    compensate:\n      tool: refund\n      with: { charge: 1 }\n')}`, { toolsOf });
      assert.deepEqual(summary(args.parsed, args.diagnostics).map((s) => s.slice(0, 3)), [
        ['9:13', 'tool-arguments', "tool 'refund' requires argument 'chargeId'."],
        ['9:15', 'tool-arguments', "tool 'refund' has no argument 'charge'. Did you mean 'chargeId'? Its arguments: chargeId."],
      ]);
      const other = check(`${W}${charge('    compensate: { server: fs, tool: refund }\n')}`, { toolsOf });
      assert.deepEqual(summary(other.parsed, other.diagnostics).map((s) => s.slice(0, 3)), [
        ['7:37', 'unknown-tool', "server 'fs' has no tool 'refund'. Its tools: notify."],
      ]);
    });

    it('lets compensation read output, and item and index with foreach', () => {
      const compensate = '    foreach: [1, 2]\n    compensate:\n      tool: refund\n      with: { chargeId: "${{ output.id }}/${{ item }}/${{ index }}/${{ inputs.x }}/${{ run.id }}/${{ steps.b.output }}" }\n';
      const c = check(`name: w\ninputs:\n  x: {default: 1}\nsteps:\n${charge(compensate)}  - id: b\n    wait: 1s\n`, { toolsOf });
      assert.deepEqual(summary(c.parsed, c.diagnostics), []);
    });

    it('reports item in a compensation without foreach, and the step reading itself through steps', () => {
      const c = check(`${W}${charge('    compensate:\n      tool: refund\n      with: { chargeId: "${{ item }}-${{ steps.charge.output.id }}" }\n')}`);
      assert.deepEqual(summary(c.parsed, c.diagnostics), [
        ['9:30', 'expression', "unknown context 'item'. Available here: inputs, steps, env, run, output.", 'item'],
        ['9:42', 'unknown-reference', "the compensation of step 'charge' reads the step's result as 'output', not through 'steps'.", 'steps.charge.output.id'],
      ]);
    });

    it('checks the references of approval messages and wait times like those of a step', () => {
      const text = `${W}  - id: a\n    approval:\n      message: "\${{ steps.b.output }} \${{ output }} \${{ inputs.v }} \${{ steps.a.output }}"\n  - id: c\n    wait: { until: "\${{ item }}" }\n`;
      const c = check(text);
      assert.deepEqual(summary(c.parsed, c.diagnostics), [
        ['5:21', 'unknown-reference', "unknown step 'b'. Did you mean 'a'?", 'steps.b.output'],
        ['5:43', 'expression', "unknown context 'output'. Available here: inputs, steps, env, run.", 'output'],
        ['5:57', 'unknown-reference', "unknown input 'v'. This workflow declares no inputs.", 'inputs.v'],
        ['5:73', 'unknown-reference', "step 'a' cannot read its own result through 'steps'; use 'output' in its outputs.", 'steps.a.output'],
        ['7:25', 'expression', "unknown context 'item'. Available here: inputs, steps, env, run.", 'item'],
      ]);
    });

    it('checks a literal until as an ISO 8601 date-time', () => {
      const text = `${W}  - id: a\n    wait: { until: next week }\n  - id: b\n    wait: { until: '2026-13-01T09:00:00Z' }\n  - id: c\n    wait: { until: '2026-12-01' }\n`;
      const c = check(text);
      assert.deepEqual(summary(c.parsed, c.diagnostics), [
        ['4:20', 'wait-until', `'wait.until' of step 'a' is "next week", not an ISO 8601 date-time such as 2026-12-01T09:00:00Z.`, 'next week'],
        ['6:20', 'wait-until', `'wait.until' of step 'b' is "2026-13-01T09:00:00Z", not an ISO 8601 date-time such as 2026-12-01T09:00:00Z.`, "'2026-13-01T09:00:00Z'"],
        ['8:20', 'wait-until', `'wait.until' of step 'c' is "2026-12-01", not an ISO 8601 date-time such as 2026-12-01T09:00:00Z.`, "'2026-12-01'"],
      ]);
    });

    it('accepts a date-time with Z or an offset, and warns about one without a time zone', () => {
      const good = check(`${W}  - id: a\n    wait: { until: 2026-12-01T09:00:00Z }\n  - id: b\n    wait: { until: '2026-12-01T09:00:00.250+02:00' }\n  - id: c\n    wait: { until: 2026-12-01T09:00-0500 }\n`);
      assert.deepEqual(summary(good.parsed, good.diagnostics), []);
      const local = check(`${W}  - id: a\n    wait: { until: 2026-12-01T09:00:00 }\n`);
      assert.deepEqual(summary(local.parsed, local.diagnostics), [
        [
          '4:20',
          'wait-until',
          "'wait.until' of step 'a' has no time zone, so it is read in the local time of the machine that runs the workflow; add Z (UTC) or an offset such as +02:00.",
          '2026-12-01T09:00:00',
        ],
      ]);
      assert.equal(local.diagnostics[0].severity, 'warning');
    });

    it('warns about circuitBreakers naming no known server, with a suggestion', () => {
      const text = `name: w\nservers:\n  files: { command: npx }\ncircuitBreakers:\n  paymnts: {}\n  files: {}\n  payments: {}\n  github: {}\n${W.slice(8)}${charge()}`;
      const c = check(text);
      assert.deepEqual(summary(c.parsed, c.diagnostics), [
        [
          '5:3',
          'unknown-server',
          "unknown server 'paymnts' in 'circuitBreakers': it is neither under 'servers:' nor in .vscode/mcp.json, so this breaker applies to nothing. Did you mean 'payments'? Known servers: files, fs, payments.",
          'paymnts',
        ],
        [
          '8:3',
          'unknown-server',
          "unknown server 'github' in 'circuitBreakers': it is neither under 'servers:' nor in .vscode/mcp.json, so this breaker applies to nothing. Known servers: files, fs, payments.",
          'github',
        ],
      ]);
      assert.ok(c.diagnostics.every((d) => d.severity === 'warning'));
    });

    it('accepts two signal steps waiting for the same name', () => {
      const c = check(`${W}  - id: a\n    signal: { name: go }\n  - id: b\n    signal: { name: go }\n`);
      assert.deepEqual(summary(c.parsed, c.diagnostics), []);
    });

    it('does not warn about concurrency on steps that are reported as not calling a tool', () => {
      const parsed = parse(`${W}  - id: a\n    wait: 1s\n    concurrency: 2\n`);
      const all = [...parsed.diagnostics, ...validateWorkflow(parsed, { externalServers: [] })];
      assert.deepEqual(summary(parsed, all).map((s) => s.slice(0, 3)), [
        ['5:5', 'schema', "step 'a' waits for a time: 'concurrency' only applies to steps that call a tool."],
      ]);
    });
  });

  describe('dependencies', () => {
    const text = [
      'name: w',
      'steps:',
      '  - id: a',
      '    server: fs',
      '    tool: t',
      '    compensate:',
      '      tool: undo',
      '      with: { x: "${{ steps.d.output }}" }',
      '  - id: b',
      '    approval:',
      "      message: Continue after ${{ steps.a.output }}?",
      '  - id: c',
      '    wait: { until: "${{ steps.b.output.comment }}" }',
      '  - id: d',
      '    signal: { name: go }',
      '    needs: c',
      '',
    ].join('\n');
    const parsed = parse(text);
    const deps = stepDependencies(parsed.workflow!);
    const view = (id: string) => (deps.get(id) ?? []).map((d) => [d.step, d.via, text.slice(d.range.start, d.range.end)]);

    it('counts steps read by approval messages and wait times', () => {
      assert.deepEqual(view('b'), [['a', 'expression', 'steps.a.output']]);
      assert.deepEqual(view('c'), [['b', 'expression', 'steps.b.output.comment']]);
      assert.deepEqual(view('d'), [['c', 'needs', 'c']]);
    });

    it('does not count steps read by a compensation, so reading a later step makes no cycle', () => {
      assert.deepEqual(view('a'), []);
      assert.deepEqual(findCycles(deps), []);
      assert.deepEqual(summary(parsed, validateWorkflow(parsed, { externalServers: ['fs'] })), []);
    });

    it('lists compensation expressions apart from the step’s own', () => {
      const a = parsed.workflow!.steps[0];
      assert.deepEqual(stepExpressionSites(a), []);
      assert.deepEqual(compensationExpressionSites(a).map((s) => s.part.source.trim()), ['steps.d.output']);
      assert.deepEqual(stepExpressionSites(parsed.workflow!.steps[1]).map((s) => s.part.source.trim()), ['steps.a.output']);
    });

    it('reports a cycle closed by an approval message', () => {
      const cyclic = `${W}  - id: a\n    server: fs\n    tool: t\n    needs: b\n  - id: b\n    approval: { message: "\${{ steps.a.output }}" }\n`;
      const c = check(cyclic);
      assert.deepEqual(summary(c.parsed, c.diagnostics), [
        ['8:31', 'cycle', "steps form a cycle: a → b → a (here 'b' reads 'a'); a step cannot wait for itself.", 'steps.a.output'],
      ]);
    });
  });
});
