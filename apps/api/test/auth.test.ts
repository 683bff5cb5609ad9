/** App key lookup and sender rights. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyring, maySendAs } from '../src/auth.ts';

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
});
