/**
 * A host's JSON-RPC clients come and go (each CLI command is one): one that went away without a clean close must not
 * fail the runs and tool calls of the others.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { messageConnection } from '../../sidecar/host/connect';
import { serve } from '../../sidecar/host/serve';
import { hostPerTest, TWO_ECHOES } from '../support/host';

describe('a host serving clients', function () {
  this.timeout(60_000);
  const t = hostPerTest();

  it('runs on when a client\'s connection was disposed without closing (its socket failed)', async () => {
    const connection = messageConnection(new PassThrough(), new PassThrough());
    serve(t.host, connection);
    connection.listen();
    // What listen() does when a client's socket fails: the connection is disposed, no close comes.
    connection.dispose();
    const file = t.ws.workflow('after-a-client-left', TWO_ECHOES);
    const { runId } = await t.host.start({ file });
    const outcome = await t.host.wait(runId, false);
    assert.equal(outcome.status, 'completed', JSON.stringify(t.host.get(runId).error));
  });
});
