import assert from 'node:assert/strict';
import { runsToCsv } from '../../common/runs-csv';

describe('exporting runs as CSV', () => {
  it('writes a header and one quoted-where-needed row per run, with CRLF lines', () => {
    const csv = runsToCsv([
      { id: 'r1', workflow: 'team-graph', file: '/w/a, b.workflow.yaml', status: 'completed', definitionHash: 'h', startedAt: Date.UTC(2026, 10, 28, 5, 0, 0), endedAt: Date.UTC(2026, 10, 28, 5, 0, 2, 500) },
      { id: 'r2', workflow: 'say "hi"', file: '/w/b.workflow.yaml', status: 'failed', definitionHash: 'h', startedAt: Date.UTC(2026, 10, 28, 6), endedAt: Date.UTC(2026, 10, 28, 6, 0, 1), error: { type: 'ToolError', message: 'line one\nline two' } },
      { id: 'r3', workflow: 'w', file: '/w/c.workflow.yaml', status: 'running', definitionHash: 'h', startedAt: Date.UTC(2026, 10, 28, 7) },
    ]);
    assert.equal(
      csv,
      [
        'id,workflow,file,status,startedAt,endedAt,durationMs,error',
        'r1,team-graph,"/w/a, b.workflow.yaml",completed,2026-11-28T05:00:00.000Z,2026-11-28T05:00:02.500Z,2500,',
        'r2,"say ""hi""",/w/b.workflow.yaml,failed,2026-11-28T06:00:00.000Z,2026-11-28T06:00:01.000Z,1000,"ToolError: line one\nline two"',
        'r3,w,/w/c.workflow.yaml,running,2026-11-28T07:00:00.000Z,,,',
        '',
      ].join('\r\n'),
    );
  });

  it('keeps a spreadsheet from reading a cell as a formula', () => {
    const csv = runsToCsv([{ id: 'r', workflow: '=HYPERLINK("http://x")', file: '@f', status: 'failed', definitionHash: 'h', startedAt: 0, endedAt: 1, error: { type: 'ToolError', message: 'x' } }]);
    const row = csv.split('\r\n')[1];
    assert.match(row, /^r,"'=HYPERLINK\(""http:\/\/x""\)",'@f,/);
  });
});
