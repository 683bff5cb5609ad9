/**
 * POST /v1/batches (a JSON body, or a streamed NDJSON body), GET /v1/batches/:id, GET
 * /v1/batches/:id/results (pages, or an NDJSON export), DELETE /v1/batches/:id, POST
 * /v1/batches/:id/pause and /resume.
 *
 * An NDJSON upload is read line by line with backpressure (the next chunk of the body is read only once
 * the previous lines are handled and Redis has caught up), so a million recipients never sit in memory.
 * A batch starts only once its whole upload was read and checked: an invalid recipient fails the upload
 * (400 naming the line or index; what was written is deleted), unless ?skip_invalid=true.
 * An upload is bounded in bytes after decompression, lines and time (upload-guard.ts); a client that
 * disconnects stops it at once, and nothing is queued.
 *
 * Idempotency-Key: the batch keeps a fingerprint of its request, a SHA-256 of the JSON body (its canonical form)
 * or, for NDJSON, of every non-blank line as decoded (so gzip or not, CRLF or LF, blank lines do not matter),
 * computed while streaming, with ?skip_invalid. A repeat is read to its end (within the same limits, writing
 * nothing) and answers the first batch when its fingerprint matches, 422 idempotency_key_reused otherwise.
 */
import { createHash, type Hash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import {
  BATCH_RESULT_STATES,
  BatchCursorError,
  BatchTooLargeError,
  type BatchHeader,
  type BatchResultState,
  type Recipient,
  type BatchView,
} from '@ttpush/contract';
import type { BatchService } from '../batch-service.ts';
import type { BatchUploadHandle } from '@ttpush/store';
import { canonicalJson, sha256 } from '../idempotency.ts';
import type { Config } from '@ttpush/config';
import type { Logger } from 'pino';
import {
  bearerAuth,
  mayRead,
  maySendToGroup,
  requireGroup,
  requireScope,
  requireSender,
  scopedIdempotencyKey,
  type AppIdentity,
  type Keyring,
} from '../auth.ts';
import { chargeDailyQuota, type QuotaCounter } from '../tenants/quota.ts';
import { ApiError } from '../errors.ts';
import { assertUtf8Charset, jsonBody } from '../json-body.ts';
import { assertJsonShape } from '../json-shape.ts';
import { ClientGoneError, UploadGuard } from '../upload-guard.ts';
import { locals } from '../locals.ts';
import type { ApiMetrics } from '../metrics.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';
import { isPlainObject, parseIdempotencyKey } from '../validation.ts';
import {
  invalidRecipient,
  parseBatchHeader,
  parseBatchRecipient,
  rejectedInput,
  type Position,
} from '../batch-validation.ts';
import { checkValue } from '../schema-check.ts';
import {
  BATCH_ID,
  BatchResultsQuery,
  BatchUploadQuery,
  DEFAULT_RESULTS_LIMIT,
  MAX_RESULTS_LIMIT,
} from '../schemas/batch.ts';
import { NdjsonLineSplitter, lineText, type NdjsonLine } from '../ndjson-lines.ts';

export interface BatchesDeps {
  config: Config;
  batches: BatchService;
  keyring: Keyring;
  metrics: ApiMetrics;
  logger: Logger;
  /** Daily quotas of tenant apps; absent: none. */
  quota?: QuotaCounter | undefined;
  /** Webhooks: refuses a callback_url (SSRF policy, no callback secret); absent: callback_url is taken as given. */
  checkCallbackUrl?: ((app: string, url: string) => Promise<void>) | undefined;
}

/** Largest JSON batch body; bigger batches are streamed as NDJSON. */
export const BATCH_JSON_LIMIT_BYTES = 16 * 1024 * 1024;
/** How long a refused upload's remaining body is read (and dropped) so the client sees the answer. */
const DRAIN_MS = 5000;
/** The NDJSON export writes in pieces of about this size. */
const EXPORT_WRITE_BYTES = 64 * 1024;

type UploadType = 'json' | 'ndjson' | 'other';

function uploadType(header: string | undefined): UploadType {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') {
    return 'ndjson';
  }
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return 'json';
  return 'other';
}

function notFound(id: string): ApiError {
  return new ApiError(
    'not_found',
    `there is no batch with id ${JSON.stringify(id)}: check the id the POST answered (finished batches are kept for TTPUSH_RECORD_TTL, 7 days by default)`,
    'id',
  );
}

function parseSkipInvalid(raw: unknown): boolean {
  const value = checkValue(
    BatchUploadQuery.shape.skip_invalid,
    raw,
    () =>
      new ApiError(
        'invalid_field',
        'skip_invalid must be true or false, given once: e.g. ?skip_invalid=true',
        'skip_invalid',
      ),
  );
  return value === 'true' || value === '1';
}

function parseState(raw: unknown): BatchResultState | undefined {
  return checkValue(
    BatchResultsQuery.shape.state,
    raw,
    () =>
      new ApiError(
        'invalid_field',
        `state must be one of ${BATCH_RESULT_STATES.join(', ')}: e.g. ?state=failed (or leave it out for every result)`,
        'state',
      ),
  ) as BatchResultState | undefined;
}

function parseLimit(raw: unknown): number {
  const limit = checkValue(
    BatchResultsQuery.shape.limit,
    raw,
    () =>
      new ApiError(
        'invalid_field',
        `limit must be a whole number from 1 to ${MAX_RESULTS_LIMIT}: e.g. ?limit=500`,
        'limit',
      ),
  );
  return limit ?? DEFAULT_RESULTS_LIMIT;
}

function parseCursorParam(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') {
    throw new ApiError(
      'invalid_field',
      'cursor must be given once: pass the next_cursor of the previous page',
      'cursor',
    );
  }
  return raw;
}

/** Reads and drops what is left of a refused upload (bounded), so the client gets to read the answer. */
function drain(req: Request, res: Response): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    const timer = setTimeout(() => {
      // Still sending: answer anyway and close the connection after the answer.
      res.setHeader('Connection', 'close');
      done();
    }, DRAIN_MS);
    req.on('end', done);
    req.on('close', done);
    req.on('error', done);
    req.resume();
  });
}

/**
 * The body as sent is read ahead up to this many bytes, whatever the line loop has consumed: a paused socket is
 * not read, so a client that sent everything and left would go unnoticed until the loop caught up (minutes, for a
 * small gzip of newlines). With more room than the socket buffers hold, its close is seen at once.
 */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;

interface UploadBody {
  /** The bytes of the body: as sent, or gunzipped. */
  stream: Readable;
  /** Stops reading: unpipes the request (left to drain or close) and destroys the streams made here. */
  stop(): void;
}

function bodyStream(req: Request): UploadBody {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const gzip = encoding === 'gzip' || encoding === 'x-gzip';
  if (!gzip && encoding !== 'identity' && encoding !== '') {
    throw new ApiError(
      'unsupported_media_type',
      `the Content-Encoding ${encoding} is not supported for an NDJSON upload: send it uncompressed or gzip`,
    );
  }
  const raw = new PassThrough({ highWaterMark: READ_AHEAD_BYTES });
  // A request that fails (cut off) fails the stream it feeds: the loop learns of it.
  const onError = (err: Error) => raw.destroy(err);
  req.once('error', onError);
  req.pipe(raw);
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.once('error', (err) => stream.destroy(err));
  return {
    stream,
    stop() {
      req.off('error', onError);
      req.unpipe(raw);
      raw.destroy();
      stream.destroy();
    },
  };
}

/** The ApiError for a body stream that failed (cut off by the client, or corrupt gzip), or null for other errors. */
function bodyError(err: unknown, req: Request): ApiError | null {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new ApiError(
      'invalid_json',
      'the gzip-encoded body is corrupt: send it again, gzipped correctly or uncompressed',
    );
  }
  if (req.readableAborted || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new ApiError('invalid_json', 'the upload was cut off before its end: nothing was queued, send it again');
  }
  return null;
}

function lineJson(line: NdjsonLine): unknown {
  const text = lineText(line);
  if (text === null) {
    throw new ApiError(
      'invalid_json',
      'problem' in line && line.problem === 'too_long'
        ? 'the line is too long: one recipient per line, each line a small JSON object'
        : 'the line is not valid UTF-8: encode the upload as UTF-8',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('invalid_json', 'the line is not valid JSON: write one JSON object per line');
  }
  // Depth and lone surrogates before any check that recurses (json-shape.ts).
  assertJsonShape(value);
  return value;
}

/** The identity of an upload for its Idempotency-Key: see the header of this file. */
function ndjsonFingerprint(skipInvalid: boolean): Hash {
  return createHash('sha256').update(`ndjson\n${skipInvalid ? 1 : 0}\n`);
}

function addLineToFingerprint(hash: Hash, line: NdjsonLine): void {
  const text = lineText(line);
  if (text === null) hash.update(`\u0000${'problem' in line ? line.problem : ''}\n`);
  else if (text.trim() !== '') hash.update(`${text}\n`, 'utf8');
}

function sameRequest(first: string | undefined, ours: string): boolean {
  // Unknown while the first upload is still running (or for a batch from before fingerprints): its answer stands.
  return first === undefined || first === ours;
}

function reusedKey(view: BatchView): ApiError {
  return new ApiError(
    'idempotency_key_reused',
    `this Idempotency-Key was first used for batch ${view.id}, with another request: send the same upload again to get its first answer, or use a new key for a new batch`,
    'Idempotency-Key',
  );
}

export function batchesRouter(deps: BatchesDeps): Router {
  const { config, batches, keyring, metrics, logger } = deps;
  const router = Router();
  const auth = bearerAuth(keyring);
  const jsonParser = jsonBody(Math.max(BATCH_JSON_LIMIT_BYTES, config.http.bodyLimitBytes));
  const maxLineBytes = Math.max(64 * 1024, config.maxContentBytes * 6 + 1024);

  /** JSON bodies are parsed whole; NDJSON bodies are left to the handler, which streams them. */
  const batchBody: RequestHandler = (req, res, next) => {
    const type = uploadType(req.headers['content-type']);
    if (type === 'ndjson') return next();
    if (type === 'json') return jsonParser(req, res, next);
    throw new ApiError(
      'unsupported_media_type',
      'a batch is sent as JSON ("Content-Type: application/json") or, for many recipients, as NDJSON ("Content-Type: application/x-ndjson")',
    );
  };

  /** Checks the header against the key (sender, callback_url), then creates the batch or finds its repeat. */
  async function begin(app: AppIdentity, header: BatchHeader, key: string | undefined) {
    requireSender(app, header.from, 'from');
    if (header.callbackUrl !== undefined) await deps.checkCallbackUrl?.(app.name, header.callbackUrl);
    return batches.begin({ app: app.name, key: app.keyId, header, idempotencyKey: scopedIdempotencyKey(app, key) });
  }

  /** Adds one recipient, or under skip_invalid records it as rejected; an invalid one otherwise fails the upload. */
  function addRecipient(
    app: AppIdentity,
    upload: BatchUploadHandle,
    header: BatchHeader,
    at: Position,
    skipInvalid: boolean,
    parse: () => unknown,
    input: () => string,
    prefix: string,
  ): Promise<void> | undefined {
    let recipient;
    try {
      recipient = parseBatchRecipient(parse(), header, config.maxContentBytes, prefix);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (!skipInvalid) throw invalidRecipient(err, at);
      return upload.reject(rejectedInput(err, at, input()));
    }
    // Not a content error: skip_invalid does not skip it, the whole upload is refused.
    if ('group' in recipient.to) {
      requireGroup(app, recipient.to.group, 'line' in at ? `line ${at.line}: group` : `recipients[${at.index}].group`);
    }
    return upload.add(recipient);
  }

  /**
   * Whether a recipient line with no field but its id ({"user": N} or {"group": N}) passes every check as it
   * stands: the batch has a content, a user is not the sender, a group is one the key may send to. Otherwise it
   * goes through addRecipient, which words the refusal.
   */
  function plainRecipientOk(app: AppIdentity, header: BatchHeader, to: Recipient): boolean {
    if (header.text === undefined) return false;
    if ('user' in to) return to.user !== header.from;
    return maySendToGroup(app, to.group);
  }

  function accepted(res: Response, app: AppIdentity, view: BatchView, duplicate: boolean): void {
    if (duplicate) res.set('Idempotent-Replayed', 'true');
    else metrics.accepted.inc({ app: app.name, priority: view.priority }, view.total - view.rejected);
    res
      .status(202)
      .set('Location', `/v1/batches/${encodeURIComponent(view.id)}`)
      .json(view);
  }

  async function finishUpload(app: AppIdentity, upload: BatchUploadHandle, fingerprint?: string): Promise<BatchView> {
    if (upload.accepted === 0 && upload.rejected === 0) {
      throw new ApiError(
        'missing_field',
        'the upload lists no recipient: give at least one {"user": <id>} or {"group": <id>}',
        'recipients',
      );
    }
    // Every kept recipient is one message of the app's day; over the quota, the whole upload is refused.
    const refund = await chargeDailyQuota(deps.quota, app, upload.accepted);
    return upload.finish(fingerprint).catch(async (err: unknown) => {
      await refund();
      throw err;
    });
  }

  /** Logs and counts an upload stopped by a limit or by the client leaving. */
  function stopped(res: Response, guard: UploadGuard, err: unknown, lines: number): void {
    const reason = guard.reasonOf(err);
    if (reason === undefined) return;
    metrics.uploadsStopped.inc({ reason });
    logger.info(
      { reqId: locals(res).requestId, reason, lines, bytes: guard.bytesRead },
      'batch upload stopped: nothing queued',
    );
  }

  async function uploadJson(
    req: Request,
    res: Response,
    app: AppIdentity,
    skipInvalid: boolean,
    guard: UploadGuard,
    key?: string,
  ) {
    const body: unknown = req.body;
    if (!isPlainObject(body)) {
      throw new ApiError(
        'invalid_json',
        'the request body is not a JSON object: send {"from": 1, "content": "...", "recipients": [{"user": 2}]}',
      );
    }
    const header = parseBatchHeader(body, 'json', config.maxContentBytes, app.priority);
    // A non-empty array: parseBatchHeader checked the body with BatchRequest; each element is checked below.
    const list = body.recipients as unknown[];
    // The body's depth was checked by jsonBody: its canonical form cannot overflow the stack.
    const fingerprint = key === undefined ? undefined : sha256(`json\n${skipInvalid ? 1 : 0}\n${canonicalJson(body)}`);
    const begun = await begin(app, header, key);
    if ('duplicate' in begun) {
      if (!sameRequest(begun.fingerprint, fingerprint!)) throw reusedKey(begun.duplicate);
      return accepted(res, app, begun.duplicate, true);
    }
    const upload = begun.upload;
    try {
      for (let index = 0; index < list.length; index++) {
        if ((index & 1023) === 0) guard.check();
        const value: unknown = list[index];
        const wait = addRecipient(
          app,
          upload,
          header,
          { index },
          skipInvalid,
          () => value,
          () => JSON.stringify(value) ?? '',
          `recipients[${index}]`,
        );
        if (wait) await wait;
      }
      guard.check();
      accepted(res, app, await finishUpload(app, upload, fingerprint), false);
    } catch (err) {
      await upload.abort();
      stopped(res, guard, err, list.length);
      logger.debug({ reqId: locals(res).requestId, batch: upload.id, err }, 'batch upload refused; deleted');
      throw err;
    }
  }

  async function uploadNdjson(
    req: Request,
    res: Response,
    app: AppIdentity,
    skipInvalid: boolean,
    guard: UploadGuard,
    key?: string,
  ): Promise<void> {
    assertUtf8Charset(req.headers['content-type']);
    const splitter = new NdjsonLineSplitter(maxLineBytes);
    let upload: BatchUploadHandle | undefined;
    let header: BatchHeader | undefined;
    let duplicate: { view: BatchView; fingerprint?: string | undefined } | undefined;
    const hash = key === undefined ? undefined : ndjsonFingerprint(skipInvalid);
    const body = bodyStream(req);
    const source = body.stream;
    try {
      const handle = async (lines: NdjsonLine[]) => {
        guard.checkLines(splitter.lines);
        for (const line of lines) {
          if (hash) addLineToFingerprint(hash, line);
          // A repeat of an Idempotency-Key is only read (for its fingerprint), never written.
          if (duplicate) continue;
          if (line.text !== null && line.text.trim() === '') continue;
          if (header === undefined) {
            header = headerLine(line, app);
            const begun = await begin(app, header, key);
            if ('duplicate' in begun) duplicate = { view: begun.duplicate, fingerprint: begun.fingerprint };
            else upload = begun.upload;
            continue;
          }
          // A line that is exactly a recipient, valid as it stands: what parseBatchRecipient would answer for it.
          if ('recipient' in line && plainRecipientOk(app, header, line.recipient)) {
            const wait = upload!.add({ to: line.recipient, text: undefined });
            if (wait) await wait;
            continue;
          }
          const wait = addRecipient(
            app,
            upload!,
            header,
            { line: line.number },
            skipInvalid,
            () => lineJson(line),
            () => lineText(line) ?? '',
            '',
          );
          if (wait) await wait;
        }
      };
      // Not destroyed when left early: the rest of a refused body is drained so the answer can be read.
      const chunks = source.iterator({ destroyOnReturn: false });
      for (;;) {
        const next = chunks.next();
        // A stop (time out, client gone) wakes the loop even while the body is slow to come.
        next.catch(() => undefined);
        const step = await Promise.race([next, guard.stopped]);
        if (step.done) break;
        const chunk = step.value as Buffer;
        guard.addBytes(chunk.length);
        await handle(splitter.push(chunk));
      }
      await handle(splitter.end());
      guard.check();
      if (duplicate) {
        if (!sameRequest(duplicate.fingerprint, hash!.digest('base64url'))) throw reusedKey(duplicate.view);
        return accepted(res, app, duplicate.view, true);
      }
      if (header === undefined || upload === undefined) {
        throw new ApiError(
          'missing_field',
          'the upload is empty: its first line must be the header, e.g. {"from": 1, "content": "hello"}, then one recipient per line',
        );
      }
      accepted(res, app, await finishUpload(app, upload, hash?.digest('base64url')), false);
    } catch (err) {
      // Streams made for the upload stop with it (a gunzip is not destroyed with the request it reads).
      body.stop();
      if (upload) {
        await upload.abort();
        logger.debug({ reqId: locals(res).requestId, batch: upload.id, err }, 'batch upload refused; deleted');
      }
      stopped(res, guard, err, splitter.lines);
      if (err instanceof ClientGoneError) throw err;
      if (err instanceof BatchTooLargeError) {
        await drain(req, res);
        throw new ApiError('body_too_large', `${err.message}: split the recipients over several batches`);
      }
      if (err instanceof ApiError && err.code === 'upload_timeout') {
        // The client is slow: answer now and close, rather than wait for the rest of its body.
        res.setHeader('Connection', 'close');
        throw err;
      }
      if (err instanceof ApiError) await drain(req, res);
      throw bodyError(err, req) ?? err;
    }
  }

  function headerLine(line: NdjsonLine, app: AppIdentity): BatchHeader {
    let value: unknown;
    try {
      value = lineJson(line);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_field') {
        throw new ApiError('invalid_field', `line ${line.number} (the header): ${err.message}`, err.field);
      }
      throw new ApiError('invalid_json', `line ${line.number} (the header): ${(err as Error).message}`);
    }
    if (!isPlainObject(value)) {
      throw new ApiError(
        'invalid_json',
        `line ${line.number} (the header) is not a JSON object: start the upload with e.g. {"from": 1, "content": "hello"}`,
      );
    }
    return parseBatchHeader(value, 'ndjson', config.maxContentBytes, app.priority);
  }

  router
    .route('/v1/batches')
    .post(routeName('/v1/batches'), auth, batchBody, async (req, res) => {
      const app = locals(res).app!;
      if (!app.batches) {
        // A streamed body is read to its end first, so the client can read the refusal.
        if (uploadType(req.headers['content-type']) === 'ndjson') await drain(req, res);
        requireScope(app, 'batches', 'sending a batch');
      }
      const skipInvalid = parseSkipInvalid(req.query.skip_invalid);
      const key = parseIdempotencyKey(req.headers['idempotency-key']);
      const guard = new UploadGuard(config.upload, res);
      try {
        if (uploadType(req.headers['content-type']) === 'ndjson') {
          await uploadNdjson(req, res, app, skipInvalid, guard, key);
        } else {
          await uploadJson(req, res, app, skipInvalid, guard, key);
        }
      } catch (err) {
        // Nobody is left to answer: the upload was dropped and logged.
        if (err instanceof ClientGoneError) return;
        throw err;
      } finally {
        guard.dispose();
      }
    })
    .all(routeName('/v1/batches'), methodNotAllowed(['POST']));

  /** Another app's batch, or another key's without read_all, answers as if it did not exist. */
  const readable: RequestHandler = (req, res, next) => {
    const id = String(req.params.id);
    const app = locals(res).app!;
    (BATCH_ID.test(id) ? batches.owner(id) : Promise.resolve(null)).then((owner) => {
      next(owner === null || !mayRead(app, owner) ? notFound(id) : undefined);
    }, next);
  };

  router
    .route('/v1/batches/:id')
    .get(routeName('/v1/batches/:id'), auth, readable, async (req, res) => {
      const id = req.params.id;
      const view = BATCH_ID.test(id) ? await batches.get(id) : null;
      if (view === null) throw notFound(id);
      res.status(200).json(view);
    })
    .delete(routeName('/v1/batches/:id'), auth, readable, async (req, res) => {
      const id = req.params.id;
      const r = await batches.cancel(id);
      if (r.ok) return void res.status(200).json(r.view);
      if (r.reason === 'not_found') throw notFound(id);
      throw new ApiError(
        'not_cancellable',
        r.view.status === 'uploading'
          ? `batch ${id} is still uploading: wait for its upload to end, then cancel it`
          : `batch ${id} is ${r.view.status}: everything in it was already sent or settled`,
        null,
        {},
        { batch: r.view },
      );
    })
    .all(routeName('/v1/batches/:id'), methodNotAllowed(['GET', 'DELETE']));

  for (const action of ['pause', 'resume'] as const) {
    const path: `/v1/batches/:id/${typeof action}` = `/v1/batches/:id/${action}`;
    router
      .route(path)
      .post(routeName(path), auth, readable, async (req, res) => {
        const id = req.params.id;
        const r = action === 'pause' ? await batches.pause(id) : await batches.resume(id);
        if (r.ok) return void res.status(200).json(r.view);
        if (r.reason === 'not_found') throw notFound(id);
        throw new ApiError(
          action === 'pause' ? 'not_pausable' : 'not_resumable',
          `batch ${id} is ${r.view.status}: only a queued, running or paused batch can be ${action}d`,
          null,
          {},
          { batch: r.view },
        );
      })
      .all(routeName(path), methodNotAllowed(['POST']));
  }

  router
    .route('/v1/batches/:id/results')
    .get(routeName('/v1/batches/:id/results'), auth, readable, async (req, res) => {
      const id = req.params.id;
      const state = parseState(req.query.state);
      const ndjson =
        req.query.format === 'ndjson' ||
        (req.query.format === undefined && (req.headers.accept ?? '').includes('application/x-ndjson'));
      if (!BatchResultsQuery.shape.format.safeParse(req.query.format).success) {
        throw new ApiError('invalid_field', 'format must be json or ndjson: e.g. ?format=ndjson', 'format');
      }
      if (ndjson) {
        const rows = BATCH_ID.test(id) ? await batches.exportResults(id, state) : null;
        if (rows === null) throw notFound(id);
        res.status(200).type('application/x-ndjson; charset=utf-8');
        let buffered = '';
        for await (const row of rows) {
          if (res.destroyed) return;
          buffered += JSON.stringify(row) + '\n';
          if (buffered.length >= EXPORT_WRITE_BYTES) {
            const ok = res.write(buffered);
            buffered = '';
            if (!ok) await new Promise((r) => res.once('drain', r).once('close', r));
          }
        }
        res.end(buffered);
        return;
      }
      const limit = parseLimit(req.query.limit);
      const cursor = parseCursorParam(req.query.cursor);
      let page;
      try {
        page = BATCH_ID.test(id) ? await batches.results(id, { state, cursor, limit }) : null;
      } catch (err) {
        if (err instanceof BatchCursorError) {
          throw new ApiError('invalid_field', `${err.message}: pass the next_cursor of the previous page`, 'cursor');
        }
        throw err;
      }
      if (page === null) throw notFound(id);
      res.status(200).json(page);
    })
    .all(routeName('/v1/batches/:id/results'), methodNotAllowed(['GET']));

  return router;
}
