/** One stop request may come as several signals; a second request (later than SAME_REQUEST_MS) forces. */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { SAME_REQUEST_MS, handleStopRequests } from '../src/boot.ts';

// A signal no Node.js version acts on by itself (Node 24 writes a diagnostic report on an emitted SIGUSR2).
const SIG = 'SIGWINCH';
afterEach(() => process.removeAllListeners(SIG));

function setup() {
  let t = 1_000_000;
  const events: string[] = [];
  const requests = handleStopRequests(
    [SIG],
    (reason) => events.push(`stop:${reason}`),
    (signal) => events.push(`force:${signal}`),
    () => t,
  );
  return {
    events,
    requests,
    signalAt(ms: number) {
      t = 1_000_000 + ms;
      process.emit(SIG, SIG);
    },
  };
}

test('copies of one signal within SAME_REQUEST_MS are one stop; a later one forces, once', () => {
  const s = setup();
  s.signalAt(0);
  s.signalAt(5); // the terminal's Ctrl-C and the copy a parent forwards
  s.signalAt(SAME_REQUEST_MS);
  assert.deepEqual(s.events, [`stop:${SIG}`]);
  assert.equal(s.requests.requested, true);
  s.signalAt(SAME_REQUEST_MS + 500);
  s.signalAt(SAME_REQUEST_MS + 3000);
  assert.deepEqual(s.events, [`stop:${SIG}`, `force:${SIG}`]);
});

test('a request from within starts a stop but never forces; a signal after it does, once it is late enough', () => {
  const s = setup();
  assert.equal(s.requests.requested, false);
  s.requests.request('parent gone');
  s.requests.request('parent gone');
  s.signalAt(100);
  assert.deepEqual(s.events, ['stop:parent gone']);
  s.signalAt(SAME_REQUEST_MS + 1);
  assert.deepEqual(s.events, ['stop:parent gone', `force:${SIG}`]);
});
