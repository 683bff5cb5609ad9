/**
 * A new webhook endpoint receives events from when the workers learn of it (a pub/sub notice: normally milliseconds,
 * at most 5 s, README "Webhooks"). A test must not guess that moment with a sleep: it sends messages until one of them
 * has a delivery to the endpoint. A message's deliveries are written before its terminal state, so one read right
 * after the message is terminal tells whether the worker knew the endpoint.
 */
import { sleep } from './harness.ts';

export interface Probe {
  /** Sends one message and resolves with its id once it is terminal (e.g. POST /v1/messages?wait=10). */
  send(): Promise<string>;
  /** Whether the message has a delivery to the endpoint (GET /v1/webhooks/deliveries?endpoint=...). */
  delivered(messageId: string): Promise<boolean>;
}

/** Sends until a message has a delivery to the endpoint; resolves with that message's id. */
export async function untilEndpointKnown(probe: Probe, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const id = await probe.send();
    if (await probe.delivered(id)) return id;
    if (Date.now() > deadline) throw new Error(`no worker delivered to the new endpoint within ${timeoutMs} ms`);
    await sleep(50);
  }
}
