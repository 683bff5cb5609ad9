/** The API's log redaction keeps the process logger's paths: a pino child's redact replaces its parent's. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACT_PATHS } from '@ttpush/config';
import { LOG_REDACT_PATHS } from '../src/log-redact.ts';

describe('log redaction', () => {
  it('includes every path of the process logger', () => {
    for (const p of REDACT_PATHS) assert.ok(LOG_REDACT_PATHS.includes(p), p);
  });

  it('hides app keys, authorization headers and the AES key', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const logger = pino({}, sink).child({}, { redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } });
    logger.info({
      app_key: 'SECRET-1',
      body: { app_key: 'SECRET-2' },
      req: { headers: { authorization: 'Bearer SECRET-3' } },
      aesKey: 'SECRET-4',
    });
    const text = lines.join('');
    assert.ok(!/SECRET-\d/.test(text), text);
    assert.equal((text.match(/\[redacted\]/g) ?? []).length, 4);
  });
});
