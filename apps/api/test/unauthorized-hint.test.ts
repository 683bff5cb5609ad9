/** A 401 tells the caller where the current development key is (after a restart, or an export forgotten). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JSON_HEADERS, bearer, startTestApp, type TestApp } from './helpers/test-app.ts';

describe('401 unauthorized', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  const send = (headers: Record<string, string>) =>
    fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...headers },
      body: JSON.stringify({ from: 1, to: { user: 2 }, content: 'x' }),
    });

  for (const [name, headers] of [
    ['an unknown key (the one of an earlier start)', bearer('dev_a-key-of-yesterday-000000')],
    ['no Authorization header', {}],
    ['an empty Bearer (an unset $TTPUSH_API_KEY)', { authorization: 'Bearer ' }],
  ] as const) {
    it(`${name}: says that ttpush start prints the current key and where it keeps it`, async () => {
      const r = await send(headers);
      assert.equal(r.status, 401);
      const body = (await r.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'unauthorized');
      assert.match(body.error.message, /`ttpush start` \(npm start\) prints the development key at each start/);
      assert.match(body.error.message, /keys\.json of its data folder \(TTPUSH_DATA_DIR, default \.ttpush\)/);
      assert.match(body.error.message, /export TTPUSH_API_KEY=/);
    });
  }
});
