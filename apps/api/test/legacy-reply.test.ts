/** jsoncpp styled output of the legacy reply, against hand-written bytes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { legacyBody, styledJson } from '../src/legacy-reply.ts';
import { replyForView } from '../src/routes/legacy.ts';
import type { MessageView } from '@ttpush/contract';

describe('legacy reply', () => {
  it('formats like jsoncpp StyledWriter: three spaces, " : ", raw UTF-8, trailing newline', () => {
    assert.equal(
      legacyBody({ code: 'ok', msgId: 11 }),
      '{\n   "error_code" : 0,\n   "error_msg" : "成功",\n   "msg_id" : 11\n}\n',
    );
    assert.equal(legacyBody({ code: 'server_error' }), '{\n   "error_code" : 10,\n   "error_msg" : "服务器异常"\n}\n');
  });

  it('escapes quotes, backslashes and control characters as jsoncpp does', () => {
    assert.equal(styledJson([['k', 'a"b\\c\n\u0001é']]), '{\n   "k" : "a\\"b\\\\c\\n\\u0001é"\n}\n');
  });

  it('maps a message state to its legacy code', () => {
    const base = { status: 'queued', msg_id: null, error: null } as unknown as MessageView;
    assert.equal(replyForView({ ...base, status: 'queued' }), null);
    assert.equal(replyForView({ ...base, status: 'sending' }), null);
    assert.deepEqual(replyForView({ ...base, status: 'sent', msg_id: 5 }), { code: 'ok', msgId: 5 });
    assert.deepEqual(replyForView({ ...base, status: 'sent', msg_id: 0 }), { code: 'unknown_error' });
    const failed = (code: string) => replyForView({ ...base, status: 'failed', error: { code, message: '' } });
    assert.deepEqual(failed('teamtalk_no_reply'), { code: 'unknown_error' });
    assert.deepEqual(failed('teamtalk_rejected'), { code: 'unknown_error' });
    assert.deepEqual(failed('teamtalk_unavailable'), { code: 'server_error' });
    assert.deepEqual(failed('expired'), { code: 'server_error' });
    assert.deepEqual(replyForView({ ...base, status: 'cancelled' }), { code: 'unknown_error' });
    assert.deepEqual(replyForView(null), { code: 'unknown_error' });
  });
});
