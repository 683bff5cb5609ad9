/**
 * TtpushClient: the /v1 API as typed methods. Every call sends the app key as a bearer token, maps a
 * refusal to a {@link TtpushError} and retries what is safe to retry (see retry-policy.ts). POSTs that
 * create something always carry an Idempotency-Key (the caller's, or a fresh UUID shared by every attempt).
 */
import { randomUUID } from 'node:crypto';
import { ndjsonBody } from './ndjson-body.ts';
import { isRetryable, parseRetryAfter, retryDelay } from './retry-policy.ts';
import { TtpushError, errorFromResponse } from './ttpush-error.ts';
import type {
  BatchRecipient,
  BatchResultRow,
  BatchResultsPage,
  BatchResultsQuery,
  BatchView,
  ChangeMembersRequest,
  CreateBatchRequest,
  CreateGroupRequest,
  GroupView,
  ListMessagesQuery,
  MembersChange,
  MessagePage,
  MessageView,
  RecipientSource,
  SendMessageRequest,
} from './types.ts';
import type {
  CallbackSecret,
  CreateEndpointRequest,
  DeliveriesPage,
  DeliveriesQuery,
  UpdateEndpointRequest,
  WebhookDelivery,
  WebhookDeliveryDetail,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
} from './webhook-types.ts';

export interface TtpushClientOptions {
  /** ttpush's base URL, e.g. http://127.0.0.1:8400. */
  url: string;
  /** The app key (sent as `Authorization: Bearer`). */
  apiKey: string;
  /** Per attempt, until the whole answer is read; a send's `wait` is added to it. Default 30 s. */
  timeoutMs?: number;
  /** Further attempts after a retryable failure. Default 3. */
  retries?: number;
}

export interface SendOptions {
  idempotencyKey?: string;
  /** Seconds (0 < wait ≤ 30) the api waits for the message to be sent or fail before it answers. */
  wait?: number;
}

export interface CreateBatchOptions {
  idempotencyKey?: string;
  /** Record invalid recipients as `rejected` results instead of refusing the whole upload. */
  skipInvalid?: boolean;
}

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  /** A streamed body; called once per attempt. Undefined result: the source cannot be replayed, so no retry. */
  stream?: () => ReadableStream<Uint8Array>;
  replayable?: boolean;
  idempotencyKey?: string;
  extraTimeoutMs?: number;
  /** Tried once: a call without an Idempotency-Key whose lost answer might hide a success (creating a group or an
   * endpoint, rotating a secret). */
  once?: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class TtpushClient {
  readonly url: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(options: TtpushClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
  }

  /** POST /v1/messages (?wait= when `wait` is given). */
  sendMessage(req: SendMessageRequest, options: SendOptions = {}): Promise<MessageView> {
    return this.call<MessageView>({
      method: 'POST',
      path: '/v1/messages',
      query: { wait: options.wait === undefined ? undefined : String(options.wait) },
      json: req,
      idempotencyKey: options.idempotencyKey ?? randomUUID(),
      extraTimeoutMs: (options.wait ?? 0) * 1000,
    });
  }

  getMessage(id: string): Promise<MessageView> {
    return this.call<MessageView>({ method: 'GET', path: `/v1/messages/${encodeURIComponent(id)}` });
  }

  /** One page of GET /v1/messages: the caller's messages, newest first. */
  listMessages(query: ListMessagesQuery = {}): Promise<MessagePage> {
    const time = (t: string | Date | undefined) => (t instanceof Date ? t.toISOString() : t);
    return this.call<MessagePage>({
      method: 'GET',
      path: '/v1/messages',
      query: {
        status: query.status === undefined ? undefined : [query.status].flat().join(','),
        from: query.from === undefined ? undefined : String(query.from),
        to_user: query.to_user === undefined ? undefined : String(query.to_user),
        to_group: query.to_group === undefined ? undefined : String(query.to_group),
        since: time(query.since),
        until: time(query.until),
        limit: query.limit === undefined ? undefined : String(query.limit),
        cursor: query.cursor,
      },
    });
  }

  /** Every message matching `query`, newest first, page after page until the api says there is no next page. */
  async *eachMessage(query: Omit<ListMessagesQuery, 'cursor'> = {}): AsyncGenerator<MessageView> {
    let cursor: string | undefined;
    do {
      const page = await this.listMessages({ ...query, ...(cursor !== undefined && { cursor }) });
      yield* page.messages;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** DELETE /v1/messages/:id: only a queued or scheduled message can be cancelled (else 409 not_cancellable). */
  cancelMessage(id: string): Promise<MessageView> {
    return this.call<MessageView>({ method: 'DELETE', path: `/v1/messages/${encodeURIComponent(id)}` });
  }

  /**
   * POST /v1/batches: `recipients` go as one JSON body; `stream` is uploaded as NDJSON with a streamed
   * body. A streamed upload is retried only when `stream` is a function (it starts the source afresh);
   * an iterable is consumed by the first attempt, so its failure is thrown as is.
   */
  createBatch(req: CreateBatchRequest, options: CreateBatchOptions = {}): Promise<BatchView> {
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    const query = { skip_invalid: options.skipInvalid ? 'true' : undefined };
    const { recipients, stream, ...header } = req;
    if (stream === undefined) {
      return this.call<BatchView>({ method: 'POST', path: '/v1/batches', query, json: req, idempotencyKey });
    }
    void recipients;
    const source: RecipientSource = stream;
    const open = (): AsyncIterable<BatchRecipient> => (typeof source === 'function' ? source() : source);
    return this.call<BatchView>({
      method: 'POST',
      path: '/v1/batches',
      query,
      stream: () => ndjsonBody(header, open()),
      replayable: typeof source === 'function',
      idempotencyKey,
    });
  }

  getBatch(id: string): Promise<BatchView> {
    return this.call<BatchView>({ method: 'GET', path: `/v1/batches/${encodeURIComponent(id)}` });
  }

  /** One page of GET /v1/batches/:id/results. */
  batchResults(id: string, query: BatchResultsQuery = {}): Promise<BatchResultsPage> {
    return this.call<BatchResultsPage>({
      method: 'GET',
      path: `/v1/batches/${encodeURIComponent(id)}/results`,
      query: {
        state: query.state,
        cursor: query.cursor,
        limit: query.limit === undefined ? undefined : String(query.limit),
      },
    });
  }

  /** Every result row of a batch, page after page, until the api says there is no next page. */
  async *eachBatchResult(id: string, query: Omit<BatchResultsQuery, 'cursor'> = {}): AsyncGenerator<BatchResultRow> {
    let cursor: string | undefined;
    do {
      const page = await this.batchResults(id, { ...query, ...(cursor !== undefined && { cursor }) });
      yield* page.results;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  cancelBatch(id: string): Promise<BatchView> {
    return this.call<BatchView>({ method: 'DELETE', path: `/v1/batches/${encodeURIComponent(id)}` });
  }

  pauseBatch(id: string): Promise<BatchView> {
    return this.call<BatchView>({ method: 'POST', path: `/v1/batches/${encodeURIComponent(id)}/pause` });
  }

  resumeBatch(id: string): Promise<BatchView> {
    return this.call<BatchView>({ method: 'POST', path: `/v1/batches/${encodeURIComponent(id)}/resume` });
  }

  /**
   * POST /v1/groups. Tried once: groups take no Idempotency-Key, so a retry after a lost answer could
   * create a second group.
   */
  createGroup(req: CreateGroupRequest): Promise<GroupView> {
    return this.call<GroupView>({ method: 'POST', path: '/v1/groups', json: req, once: true });
  }

  /** POST /v1/groups/:id/members (adding members already in the group changes nothing, so retries are safe). */
  addMembers(groupId: number, req: ChangeMembersRequest): Promise<MembersChange> {
    return this.call<MembersChange>({ method: 'POST', path: `/v1/groups/${groupId}/members`, json: req });
  }

  /** DELETE /v1/groups/:id/members. */
  removeMembers(groupId: number, req: ChangeMembersRequest): Promise<MembersChange> {
    return this.call<MembersChange>({ method: 'DELETE', path: `/v1/groups/${groupId}/members`, json: req });
  }

  // Webhooks (/v1/webhooks): the app's endpoints, their deliveries and the callback secret. They are app-wide, so each
  // of these methods needs a key with the manage_webhooks scope (or read_all): without it they throw TtpushError 403
  // forbidden_scope. A callback_url on sendMessage / createBatch needs neither.

  /** POST /v1/webhooks/endpoints: the answer carries the endpoint's secret, shown this once. */
  createEndpoint(req: CreateEndpointRequest): Promise<WebhookEndpointWithSecret> {
    return this.call({ method: 'POST', path: '/v1/webhooks/endpoints', json: req, once: true });
  }

  async listEndpoints(): Promise<WebhookEndpoint[]> {
    const r = await this.call<{ endpoints: WebhookEndpoint[] }>({ method: 'GET', path: '/v1/webhooks/endpoints' });
    return r.endpoints;
  }

  getEndpoint(id: string): Promise<WebhookEndpoint> {
    return this.call({ method: 'GET', path: `/v1/webhooks/endpoints/${encodeURIComponent(id)}` });
  }

  /** PATCH url, events, enabled (true re-enables an endpoint ttpush disabled) or description. */
  updateEndpoint(id: string, req: UpdateEndpointRequest): Promise<WebhookEndpoint> {
    return this.call({ method: 'PATCH', path: `/v1/webhooks/endpoints/${encodeURIComponent(id)}`, json: req });
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `/v1/webhooks/endpoints/${encodeURIComponent(id)}` });
  }

  /** A new secret (shown once); the previous one keeps signing for `graceSeconds` (default 86400). */
  rotateEndpointSecret(id: string, graceSeconds?: number): Promise<WebhookEndpointWithSecret> {
    return this.call({
      method: 'POST',
      path: `/v1/webhooks/endpoints/${encodeURIComponent(id)}/rotate-secret`,
      json: graceSeconds === undefined ? {} : { grace_seconds: graceSeconds },
      once: true,
    });
  }

  /** One page of GET /v1/webhooks/deliveries, newest first. */
  listDeliveries(query: DeliveriesQuery = {}): Promise<DeliveriesPage> {
    return this.call({
      method: 'GET',
      path: '/v1/webhooks/deliveries',
      query: {
        endpoint: query.endpoint,
        status: query.status,
        cursor: query.cursor,
        limit: query.limit === undefined ? undefined : String(query.limit),
      },
    });
  }

  /** Every delivery matching `query`, page after page. */
  async *eachDelivery(query: Omit<DeliveriesQuery, 'cursor'> = {}): AsyncGenerator<WebhookDelivery> {
    let cursor: string | undefined;
    do {
      const page = await this.listDeliveries({ ...query, ...(cursor !== undefined && { cursor }) });
      yield* page.deliveries;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** A delivery with its payload and attempts (time, HTTP status or error, duration). */
  getDelivery(id: string): Promise<WebhookDeliveryDetail> {
    return this.call({ method: 'GET', path: `/v1/webhooks/deliveries/${encodeURIComponent(id)}` });
  }

  /** Due again at once with a fresh retry schedule; the event keeps its id. */
  redeliver(id: string): Promise<WebhookDeliveryDetail> {
    return this.call({ method: 'POST', path: `/v1/webhooks/deliveries/${encodeURIComponent(id)}/redeliver` });
  }

  /** Redelivers every dead delivery of an endpoint; how many. */
  async redeliverFailed(endpointId: string): Promise<number> {
    const r = await this.call<{ redelivered: number }>({
      method: 'POST',
      path: `/v1/webhooks/endpoints/${encodeURIComponent(endpointId)}/redeliver-failed`,
    });
    return r.redelivered;
  }

  /** The app's callback secret: `secret` is present on the first call only (when it is created). */
  callbackSecret(): Promise<CallbackSecret> {
    return this.call({ method: 'GET', path: '/v1/webhooks/callback-secret', once: true });
  }

  rotateCallbackSecret(graceSeconds?: number): Promise<CallbackSecret> {
    return this.call({
      method: 'POST',
      path: '/v1/webhooks/callback-secret/rotate',
      json: graceSeconds === undefined ? {} : { grace_seconds: graceSeconds },
      once: true,
    });
  }

  private async call<T>(call: Call): Promise<T> {
    const maxAttempts = (call.stream && !call.replayable) || call.once ? 1 : this.retries + 1;
    for (let attempt = 0; ; attempt++) {
      const { result, retryAfterMs } = await this.attempt(call);
      if (!(result instanceof TtpushError)) return result as T;
      if (attempt + 1 >= maxAttempts || !isRetryable(result)) throw result;
      await sleep(retryDelay(attempt, retryAfterMs));
    }
  }

  private async attempt(call: Call): Promise<{ result: unknown; retryAfterMs?: number | undefined }> {
    const url = new URL(this.url + call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json' };
    if (call.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey;
    const init: RequestInit & { duplex?: 'half' } = { method: call.method, headers };
    if (call.json !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(call.json);
    } else if (call.stream) {
      headers['content-type'] = 'application/x-ndjson';
      init.body = call.stream();
      // fetch sends a ReadableStream body only in half-duplex mode.
      init.duplex = 'half';
    }
    // A streamed upload lasts as long as its source: no overall timeout.
    if (!call.stream) init.signal = AbortSignal.timeout(this.timeoutMs + (call.extraTimeoutMs ?? 0));
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await fetch(url, init);
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (err) {
      return { result: this.noAnswer(err) };
    }
    if (status >= 200 && status < 300) {
      // 204 No Content (a deleted endpoint).
      if (text === '') return { result: undefined };
      try {
        return { result: JSON.parse(text) as unknown };
      } catch {
        return { result: new TtpushError(status, 'bad_response', `HTTP ${status} with a body that is not JSON`) };
      }
    }
    return { result: errorFromResponse(status, text), retryAfterMs: parseRetryAfter(retryAfter) };
  }

  private noAnswer(err: unknown): TtpushError {
    const name = (err as { name?: unknown }).name;
    if (name === 'TimeoutError') {
      return new TtpushError(0, 'timeout', `ttpush at ${this.url} did not answer within the timeout`);
    }
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason = typeof cause?.code === 'string' ? cause.code : (err as Error).message;
    return new TtpushError(0, 'unreachable', `cannot reach ttpush at ${this.url}: ${reason}`);
  }
}
