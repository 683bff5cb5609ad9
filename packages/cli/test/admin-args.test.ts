/** `ttpush admin` command lines → the HTTP call they make; wrong ones are usage errors. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminCall } from '../src/commands/admin.ts';
import { UsageError } from '../src/args.ts';

function callOf(argv: string[]) {
  const r = adminCall(argv);
  assert.notEqual(r, 'help');
  return (r as Exclude<typeof r, 'help'>).call;
}

describe('ttpush admin arguments', () => {
  it('apps create sends the name and only the limits given', () => {
    const c = callOf(['apps', 'create', 'crm', '--rate-limit', '2.5', '--daily-quota', '1000', '--priority', 'low']);
    assert.deepEqual(
      [c.method, c.path, c.body],
      ['POST', '/v1/admin/apps', { name: 'crm', rate_limit: 2.5, daily_quota: 1000, priority: 'low' }],
    );
    assert.deepEqual(callOf(['apps', 'create', 'crm']).body, { name: 'crm' });
  });

  it('apps set clears a limit with "none" and toggles disabled', () => {
    const c = callOf(['apps', 'set', 'crm', '--rate-limit', 'none', '--disable']);
    assert.deepEqual([c.method, c.path, c.body], ['PATCH', '/v1/admin/apps/crm', { rate_limit: null, disabled: true }]);
  });

  it('keys create turns lists, "*" and flags into scopes; no flag grants nothing', () => {
    const c = callOf([
      'keys',
      'create',
      '--app',
      'crm',
      '--senders',
      '1,2',
      '--groups',
      '*',
      '--batches',
      '--read-all',
      '--manage-webhooks',
    ]);
    assert.deepEqual(
      [c.path, c.body],
      [
        '/v1/admin/apps/crm/keys',
        { senders: [1, 2], groups: '*', batches: true, manage_groups: false, read_all: true, manage_webhooks: true },
      ],
    );
    assert.deepEqual(callOf(['keys', 'create', '--app', 'x']).body, {
      senders: [],
      groups: [],
      batches: false,
      manage_groups: false,
      read_all: false,
      manage_webhooks: false,
    });
  });

  it('keys list, revoke, rotate and audit name their paths', () => {
    assert.equal(callOf(['keys', 'list']).path, '/v1/admin/keys');
    assert.equal(callOf(['keys', 'list', '--app', 'crm']).path, '/v1/admin/keys?app=crm');
    assert.deepEqual(
      [callOf(['keys', 'revoke', 'key_1']).method, callOf(['keys', 'revoke', 'key_1']).path],
      ['DELETE', '/v1/admin/keys/key_1'],
    );
    const rotate = callOf(['keys', 'rotate', 'key_1', '--grace', '60']);
    assert.deepEqual([rotate.path, rotate.body], ['/v1/admin/keys/key_1/rotate', { grace_seconds: 60 }]);
    assert.equal(callOf(['audit', '--app', 'crm', '--limit', '5']).path, '/v1/admin/audit?app=crm&limit=5');
  });

  it('refuses wrong command lines naming the flag or the command', () => {
    const cases: [string[], RegExp][] = [
      [[], /name a command/],
      [['apps', 'drop', 'x'], /unknown command 'admin apps drop x'/],
      [['apps', 'create'], /takes one app NAME/],
      [['apps', 'create', 'a', '--rate-limit', '0'], /--rate-limit must be/],
      [['apps', 'create', 'a', '--daily-quota', '1.5'], /--daily-quota must be a whole number/],
      [['apps', 'create', 'a', '--senders', '1'], /--senders does not apply to 'apps create'/],
      [['apps', 'set', 'a'], /give something to set/],
      [['apps', 'set', 'a', '--disable', '--enable'], /not both/],
      [['keys', 'create', '--senders', '1'], /--app is required/],
      [['keys', 'create', '--app', 'a', '--senders', '1,x'], /--senders must be an integer/],
      [['keys', 'rotate', 'key_1', '--grace', '1.5'], /--grace must be an integer/],
      [['apps', 'list', '--bogus'], /bogus/],
    ];
    for (const [argv, message] of cases)
      assert.throws(
        () => adminCall(argv),
        (err: unknown) => {
          assert.ok(err instanceof UsageError, argv.join(' '));
          assert.match(err.message, message, argv.join(' '));
          return true;
        },
      );
    assert.equal(adminCall(['--help']), 'help');
  });
});
