/**
 * One webhook attempt: POST the body to an address already checked by the URL policy (never resolving the host
 * again), with the Host header and TLS server name of the URL. The whole attempt (connect, TLS, headers) is bounded
 * by `timeoutMs`. Any 2xx is a success; a redirect is not followed and counts as a failure (redirect_refused), so no
 * hop can lead to an address the policy refuses.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ResolvedTarget } from '@ttpush/config';

export interface PostResult {
  ok: boolean;
  status: number | null;
  /** timeout, connection_refused, connection_reset, tls_error, redirect_refused, http_<status>, request_failed */
  error: string | null;
  durationMs: number;
}

/** Body bytes of an answer read before the connection is dropped: receivers need only answer a status. */
const ANSWER_LIMIT = 64 * 1024;

function errorCode(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    default:
      return err.code?.startsWith('ERR_TLS') || err.code?.includes('CERT') ? 'tls_error' : 'request_failed';
  }
}

export function postSigned(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<PostResult> {
  const started = performance.now();
  const { url } = target;
  const https = url.protocol === 'https:';
  return new Promise<PostResult>((resolve) => {
    let done = false;
    const finish = (r: Omit<PostResult, 'durationMs'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...r, durationMs: Math.round(performance.now() - started) });
    };
    const req = (https ? httpsRequest : httpRequest)({
      host: target.address,
      family: target.family,
      port: url.port || (https ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      agent: false,
      ...(https && { servername: url.hostname.replace(/^\[(.*)\]$/, '$1') }),
      headers: {
        host: url.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'ttpush-webhooks/1',
        ...headers,
      },
      signal,
    });
    const timer = setTimeout(() => finish({ ok: false, status: null, error: 'timeout' }), timeoutMs);
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      const settle = () => {
        if (status >= 200 && status < 300) finish({ ok: true, status, error: null });
        else if (status >= 300 && status < 400) finish({ ok: false, status, error: 'redirect_refused' });
        else finish({ ok: false, status, error: `http_${status}` });
      };
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > ANSWER_LIMIT) settle();
      });
      res.on('end', settle);
      res.on('error', settle);
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, status: null, error: signal?.aborted ? 'shutdown' : errorCode(err) }),
    );
    req.end(body);
  });
}
