/** App key lookup and sender rights. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createKeyring, keyDigest, maySendAs } from '../src/auth.ts';

describe('keyring', () => {
  const keyring = createKeyring({
    appKeys: [
      { name: 'crm', key: 'crm-secret-key-0000000001', senders: [1001, 1002] },
      { name: 'ops', key: 'ops-secret-key-0000000002', senders: '*' },
    ],
    devAppKey: 'dev-secret-key',
  });

  it('finds each configured key and the development key by its exact value', async () => {
    assert.equal((await keyring.lookup('crm-secret-key-0000000001'))?.name, 'crm');
    assert.equal((await keyring.lookup('ops-secret-key-0000000002'))?.name, 'ops');
    assert.equal((await keyring.lookup('dev-secret-key'))?.name, 'dev');
  });

  it('finds nothing for a prefix, a longer string, another case or the empty string', async () => {
    for (const k of ['crm-secret-key-000000000', 'crm-secret-key-00000000011', 'CRM-SECRET-KEY-0000000001', '']) {
      assert.equal(await keyring.lookup(k), null, k);
    }
  });

  it('lets a key send only as its listed senders; "*" and the development key as anyone', async () => {
    const crm = (await keyring.lookup('crm-secret-key-0000000001'))!;
    assert.equal(maySendAs(crm, 1001), true);
    assert.equal(maySendAs(crm, 1003), false);
    assert.equal(maySendAs((await keyring.lookup('ops-secret-key-0000000002'))!, 99), true);
    assert.equal(maySendAs((await keyring.lookup('dev-secret-key'))!, 4294967295), true);
  });

  it("gives configuration keys today's rights: every group, batches, group management, read_all", async () => {
    const crm = (await keyring.lookup('crm-secret-key-0000000001'))!;
    assert.deepEqual(
      [crm.keyId, crm.groups, crm.batches, crm.manageGroups, crm.readAll],
      ['config:crm', '*', true, true, true],
    );
  });

  it('without a development key, "dev-secret-key" is unknown', async () => {
    assert.equal(await createKeyring({ appKeys: [], devAppKey: undefined }).lookup('dev-secret-key'), null);
  });

  it('keeps the digests of recent keys, not what they found: right again and again, bounded, long strings not kept', async () => {
    const sha = (k: string) => createHash('sha256').update(k, 'utf8').digest();
    const k = 'crm-secret-key-0000000001';
    assert.deepEqual(keyDigest(k), sha(k));
    assert.equal(keyDigest(k), keyDigest(k), 'the same digest object: cached');
    const first = keyDigest(k);
    // Many other strings presented (a flood of wrong keys): the oldest digests go, every answer stays right.
    for (let i = 0; i < 1000; i++) assert.equal(await keyring.lookup(`wrong-key-${i}`), null);
    assert.notEqual(keyDigest(k), first, 'evicted: the cache is bounded');
    assert.deepEqual(keyDigest(k), sha(k));
    for (let i = 0; i < 3; i++) assert.equal((await keyring.lookup(k))?.name, 'crm');
    assert.equal(await keyring.lookup('crm-secret-key-0000000002'), null);
    const long = 'x'.repeat(10_000);
    assert.notEqual(keyDigest(long), keyDigest(long), 'a long string is hashed each time, not kept');
    assert.deepEqual(keyDigest(long), sha(long));
  });
});
