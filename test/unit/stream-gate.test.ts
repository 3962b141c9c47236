import assert from 'node:assert/strict';
import { StreamGate } from '../../common/stream-gate';

describe('StreamGate (when the dashboard may fold the events it reads straight from the sidecar)', () => {
  it('opens at once for a connection that began before any event of its sidecar', () => {
    const gate = new StreamGate();
    assert.equal(gate.usable, false, 'closed before the hello');
    gate.hello(0);
    assert.equal(gate.usable, true);
  });

  it('opens when the relayed events reach the hello\'s event, whichever comes first', () => {
    const waits = new StreamGate();
    waits.relayedEvent(5);
    waits.hello(9);
    assert.equal(waits.usable, false);
    // Durable order is not seq order: a new run's first event (12) can be given out before 9.
    waits.relayedEvent(12);
    assert.equal(waits.usable, false, 'a higher seq is not proof that 9 came');
    waits.relayedEvent(9);
    assert.equal(waits.usable, true);

    const caughtUp = new StreamGate();
    for (const seq of [7, 8, 9, 10]) caughtUp.relayedEvent(seq);
    caughtUp.hello(9);
    assert.equal(caughtUp.usable, true, 'the relayed events were already past it');
  });

  it('closes when the connection drops, and opens again with the next hello', () => {
    const gate = new StreamGate();
    gate.relayedEvent(3);
    gate.hello(3);
    gate.lost();
    assert.equal(gate.usable, false);
    gate.relayedEvent(4);
    gate.hello(6);
    assert.equal(gate.usable, false);
    gate.relayedEvent(6);
    assert.equal(gate.usable, true);
  });

  it('remembers enough relayed events for any connection that begins while they are in flight', () => {
    const gate = new StreamGate();
    for (let seq = 1; seq <= 5000; seq++) gate.relayedEvent(seq);
    gate.hello(4000);
    assert.equal(gate.usable, true);
    gate.lost();
    gate.hello(1);
    assert.equal(gate.usable, false, 'long forgotten: the gate waits rather than guess');
  });
});
