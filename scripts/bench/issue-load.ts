/**
 * The load: 3,000 sends at 64 keep-alive connections, (a) each to a new conversation, (b) over 5,000
 * existing conversations (warmed first: one message to each), against bare Express, the raw sender, POST
 * /v1/messages and /query/SendSingleMessage. Each measurement runs once (memoized in the context) and carries the CPU
 * time per message of the processes that serve it: api + worker + redis-server for ttpush (from before the load to
 * the queue drained), the server's own process for a baseline.
 *
 * Every server gets a warm-up of its own first (JIT, connections), to conversations no measured load uses.
 */
import { closeLoad } from './close-load.ts';
import { countLoad } from './count-load.ts';
import { cpuUsEach } from './proc-cpu.ts';
import { BENCH_KEY, drained } from './stack.ts';
import type { BenchContext } from './context.ts';

export const SENDS = 3000;
export const EXISTING = 5000;
/**
 * Requests each server gets before its first measured load: as many as a load, so the first measured load of a
 * cold server (bare Express, the first section) is not half JIT warm-up while a later one is not.
 */
const WARMUP = SENDS;
export type Kind = 'new' | 'existing';
export const KINDS: readonly Kind[] = ['new', 'existing'];
export const kindLabel = (k: Kind): string => (k === 'new' ? 'new conversations' : '5,000 existing conversations');

export interface Measured {
  /** 2xx answers per second, over the load's wall time. */
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuUsPerMsg: number;
  /** cpuUsPerMsg of each process measured, in the order of the pids (ttpush: api, workers, redis-server). */
  cpuSplit: number[];
  /** /v1 only: messages sent per second, accept to drained. */
  sentRate?: number;
  /** /v1 only: ms from the last answer to the queue drained. */
  drainMs?: number;
}

/** /v1 sends come from user 1, /query sends from user 2: their conversations are distinct. */
const V1_FROM = 1;
const QUERY_FROM = 2;
const EXISTING_BASE = 500_000;
let nextFresh = 1_000_000;

/** Recipients of one load: fresh users, or a spread over the existing ones (a fixed pseudo-random pick). */
function recipients(kind: Kind): (i: number) => number {
  if (kind === 'existing') return (i) => EXISTING_BASE + (((i * 2_654_435_761) % 4_294_967_296) % EXISTING);
  const base = nextFresh;
  nextFresh += SENDS * 2;
  return (i) => base + i;
}

const v1Body = (to: number) => JSON.stringify({ from: V1_FROM, to: { user: to }, content: `bench message ${to}` });
const legacyBody = (to: number) =>
  JSON.stringify({
    app_key: BENCH_KEY,
    req_user_id: QUERY_FROM,
    from_user_id: QUERY_FROM,
    session_id: to,
    msg: `legacy ${to}`,
  });
const AUTH = { authorization: `Bearer ${BENCH_KEY}` };

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** CPU µs per message of each of `pids` since `before`. */
function perMessage(before: number[], pids: number[], messages: number): number[] {
  return cpuUsEach(pids).map((us, i) => (us - before[i]!) / messages);
}

/** "api 210, worker 300, Redis 90 µs/msg" for a ttpush stack's pids (api, workers..., redis-server). */
export function cpuSplitNote(m: Measured): string {
  const s = m.cpuSplit.map((us) => Math.round(us));
  const workers = s.slice(1, -1);
  return `api ${s[0]}, worker ${workers.join('+')}, Redis ${s.at(-1)} µs/msg`;
}

async function keepAlive(
  url: string,
  pids: number[],
  kind: Kind,
  body: (to: number) => string,
  headers: Record<string, string>,
  connections: number,
  settle: () => Promise<void> = async () => undefined,
): Promise<Measured> {
  const to = recipients(kind);
  const cpu0 = cpuUsEach(pids);
  const load = await countLoad(url, SENDS, connections, (i) => body(to(i)), headers, settle);
  const split = perMessage(cpu0, pids, load.ok);
  return {
    rps: load.rps,
    p50: load.p50,
    p99: load.p99,
    errors: load.non2xx,
    cpuUsPerMsg: sum(split),
    cpuSplit: split,
    sentRate: load.ok / load.settledSeconds,
    drainMs: Math.round((load.settledSeconds - load.seconds) * 1000),
  };
}

async function closing(
  port: number,
  path: string,
  pids: number[],
  kind: Kind,
  body: (to: number) => string,
  connections: number,
  settle: () => Promise<void> = async () => undefined,
): Promise<Measured> {
  const to = recipients(kind);
  const cpu0 = cpuUsEach(pids);
  const load = await closeLoad(port, path, (i) => body(to(i)), connections, { amount: SENDS });
  await settle();
  const split = perMessage(cpu0, pids, load.total);
  return { ...load, cpuUsPerMsg: sum(split), cpuSplit: split };
}

/** Sends one message to each existing conversation of `from`'s, through /v1 or /query, and waits for them sent. */
function warmConversations(ctx: BenchContext, api: 'v1' | 'query'): Promise<void> {
  return ctx.once(`warm ${api}`, async () => {
    const stack = await ctx.main();
    const to = (i: number) => EXISTING_BASE + i;
    if (api === 'v1')
      await countLoad(`${stack.url}/v1/messages`, EXISTING, ctx.connections, (i) => v1Body(to(i)), AUTH);
    else {
      const port = Number(new URL(stack.url).port);
      await closeLoad(port, '/query/SendSingleMessage', (i) => legacyBody(to(i)), ctx.connections, {
        amount: EXISTING,
      });
    }
    await drained(stack.url);
  });
}

/** Bare Express, keep-alive, /v1's body. */
export function bare(ctx: BenchContext, kind: Kind): Promise<Measured> {
  return ctx.once(`bare ${kind}`, async () => {
    const s = await ctx.bare();
    const url = `http://127.0.0.1:${s.port}/v1/messages`;
    await ctx.once('warm bare', () => countLoad(url, WARMUP, ctx.connections, (i) => v1Body(900_000 + i)));
    return keepAlive(url, [s.pid], kind, v1Body, {}, ctx.connections);
  });
}

/** The raw sender, keep-alive, /v1's body and conversations: the floor for POST /v1/messages. */
export function rawKeepAlive(ctx: BenchContext, kind: Kind): Promise<Measured> {
  return ctx.once(`raw keep-alive ${kind}`, async () => {
    const s = await ctx.rawSender();
    const url = `http://127.0.0.1:${s.port}/send`;
    await ctx.once('warm raw', () => countLoad(url, WARMUP, ctx.connections, (i) => v1Body(910_000 + i)));
    if (kind === 'existing') await warmConversations(ctx, 'v1');
    return keepAlive(url, [s.pid], kind, v1Body, {}, ctx.connections);
  });
}

/** The raw sender, one connection per request as the legacy API answers, /query's body and conversations. */
export function rawClose(ctx: BenchContext, kind: Kind): Promise<Measured> {
  return ctx.once(`raw close ${kind}`, async () => {
    const s = await ctx.rawSender();
    await ctx.once('warm raw', () =>
      countLoad(`http://127.0.0.1:${s.port}/send`, WARMUP, ctx.connections, (i) => v1Body(910_000 + i)),
    );
    if (kind === 'existing') await warmConversations(ctx, 'query');
    return closing(s.port, '/send', [s.pid], kind, legacyBody, ctx.connections);
  });
}

/** POST /v1/messages: accepted per second and p50/p99 of the 202s; sent per second and CPU to drained. */
export function v1(ctx: BenchContext, kind: Kind): Promise<Measured> {
  return ctx.once(`v1 ${kind}`, async () => {
    const stack = await ctx.main();
    const url = `${stack.url}/v1/messages`;
    await ctx.once('warm v1', async () => {
      await countLoad(url, WARMUP, ctx.connections, (i) => v1Body(920_000 + i), AUTH);
      await drained(stack.url);
    });
    if (kind === 'existing') await warmConversations(ctx, 'v1');
    return keepAlive(url, stack.pids, kind, v1Body, AUTH, ctx.connections, () => drained(stack.url));
  });
}

/** /query/SendSingleMessage, answered once sent; CPU to drained. */
export function query(ctx: BenchContext, kind: Kind): Promise<Measured> {
  return ctx.once(`query ${kind}`, async () => {
    const stack = await ctx.main();
    const port = Number(new URL(stack.url).port);
    const path = '/query/SendSingleMessage';
    await ctx.once('warm query', async () => {
      await closeLoad(port, path, (i) => legacyBody(930_000 + i), ctx.connections, { amount: WARMUP });
      await drained(stack.url);
    });
    if (kind === 'existing') await warmConversations(ctx, 'query');
    return closing(port, path, stack.pids, kind, legacyBody, ctx.connections, () => drained(stack.url));
  });
}
