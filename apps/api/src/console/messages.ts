/**
 * The console's recent messages (GET /console/api/messages): every app's newest single messages, or one app's
 * with `app=`, with the filters and cursor of GET /v1/messages. Each row is the message view plus its app.
 */
import type { RequestHandler } from 'express';
import { encodeListCursor } from '@ttpush/store';
import type { MessageService } from '../message-service.ts';
import { ApiError } from '../errors.ts';
import { parseListQuery } from '../message-list-query.ts';

const APP_NAME = /^[\x21-\x7e]{1,100}$/;

export function consoleMessages(service: MessageService): RequestHandler {
  return async (req, res) => {
    const { app, ...query } = req.query as Record<string, unknown>;
    if (app !== undefined && (typeof app !== 'string' || !APP_NAME.test(app))) {
      throw new ApiError('invalid_field', 'the query parameter app is not an app name: give one app name, once', 'app');
    }
    // Without an app: the capped index of every app's newest messages (the last 1,000 per partition).
    const page = await service.list(parseListQuery(query, app === undefined ? { all: true } : { app }));
    res.set('Cache-Control', 'no-store').json({
      messages: page.messages.map((m) => ({ ...m.view, app: m.app })),
      next_cursor: page.next === null ? null : encodeListCursor(page.next),
    });
  };
}
