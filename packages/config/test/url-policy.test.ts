// The SSRF policy of webhook URLs: refused ranges, the configured allowance, and what DNS answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UrlPolicy, UrlRefusedError, type Lookup } from '../src/url-policy.ts';

const dns =
  (answers: Record<string, string[]>): Lookup =>
  async (host) => {
    const list = answers[host];
    if (!list) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

async function refusedCode(policy: UrlPolicy, url: string): Promise<string> {
  try {
    await policy.resolve(url);
  } catch (err) {
    assert.ok(err instanceof UrlRefusedError, String(err));
    return err.code;
  }
  return 'allowed';
}

test('loopback, private, shared, link-local, unspecified, multicast and mapped addresses are refused', async () => {
  const p = new UrlPolicy([], dns({}));
  for (const host of [
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.0.10',
    '100.64.0.1',
    '169.254.169.254',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '[::1]',
    '[::]',
    '[fc00::1]',
    '[fd12:3456::1]',
    '[fe80::1]',
    '[ff02::1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:a00:1]',
  ]) {
    assert.equal(await refusedCode(p, `http://${host}/hook`), 'address_refused', host);
  }
});

test('public addresses pass; so do refused ranges named in the allowance, and only those', async () => {
  const p = new UrlPolicy(['127.0.0.1/32', 'fd00::/8'], dns({}));
  for (const host of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '[2606:4700::1111]', '127.0.0.1', '[fd00::5]']) {
    assert.equal(await refusedCode(p, `https://${host}/x`), 'allowed', host);
  }
  assert.equal(await refusedCode(p, 'http://[::ffff:127.0.0.1]/x'), 'allowed');
  assert.equal(await refusedCode(p, 'http://127.0.0.2/x'), 'address_refused');
  assert.equal(await refusedCode(new UrlPolicy([], dns({})), 'http://127.0.0.1/x'), 'address_refused');
});

test('a host name is checked on every address it resolves to, and the checked address is what to connect to', async () => {
  const p = new UrlPolicy(
    [],
    dns({
      'public.example': ['93.184.216.34'],
      'internal.example': ['10.1.1.1'],
      'mixed.example': ['93.184.216.34', '127.0.0.1'],
      'v6.example': ['::1'],
    }),
  );
  const ok = await p.resolve('https://public.example:8443/hooks?x=1');
  assert.equal(ok.address, '93.184.216.34');
  assert.equal(ok.family, 4);
  assert.equal(ok.url.port, '8443');
  assert.equal(await refusedCode(p, 'https://internal.example/'), 'address_refused');
  assert.equal(await refusedCode(p, 'https://mixed.example/'), 'address_refused');
  assert.equal(await refusedCode(p, 'https://v6.example/'), 'address_refused');
  assert.equal(await refusedCode(p, 'https://nowhere.example/'), 'unresolvable');
});

test('only absolute http and https URLs without credentials', async () => {
  const p = new UrlPolicy([], dns({ 'public.example': ['93.184.216.34'] }));
  assert.equal(await refusedCode(p, 'ftp://public.example/'), 'scheme_refused');
  assert.equal(await refusedCode(p, 'file:///etc/passwd'), 'scheme_refused');
  assert.equal(await refusedCode(p, 'gopher://public.example/'), 'scheme_refused');
  assert.equal(await refusedCode(p, 'https://user:pw@public.example/'), 'credentials_refused');
  assert.equal(await refusedCode(p, '/relative'), 'invalid_url');
  assert.equal(await refusedCode(p, 'https://public.example/ok'), 'allowed');
});
