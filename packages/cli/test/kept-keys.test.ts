/** The keys `ttpush start` keeps in its data folder: made once (0600), the same at every start, renewed on demand. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYS_FILE, keptKeys } from '../src/kept-keys.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ttpush-keys-'));
  dirs.push(d);
  return d;
}
const mode = (f: string) => statSync(f).mode & 0o777;

test('made at the first start with mode 0600, then read back unchanged; renew replaces both', () => {
  const d = dir();
  const first = keptKeys(d);
  assert.equal(first.origin, 'new');
  assert.match(first.devAppKey, /^dev_[A-Za-z0-9_-]{24}$/);
  assert.match(first.adminKey, /^adm_[A-Za-z0-9_-]{32}$/);
  assert.equal(first.file, join(d, KEYS_FILE));
  assert.equal(mode(first.file), 0o600);
  const again = keptKeys(d);
  assert.deepEqual([again.origin, again.devAppKey, again.adminKey], ['kept', first.devAppKey, first.adminKey]);
  const renewed = keptKeys(d, { renew: true });
  assert.equal(renewed.origin, 'new');
  assert.notEqual(renewed.devAppKey, first.devAppKey);
  assert.notEqual(renewed.adminKey, first.adminKey);
  assert.equal(mode(first.file), 0o600);
  const stored = JSON.parse(readFileSync(first.file, 'utf8')) as { dev_app_key: string; admin_key: string };
  assert.deepEqual([stored.dev_app_key, stored.admin_key], [renewed.devAppKey, renewed.adminKey]);
});

test('a file others can read is made 0600 again, and said so', () => {
  const d = dir();
  const { file, devAppKey } = keptKeys(d);
  chmodSync(file, 0o644);
  const k = keptKeys(d);
  assert.equal(k.devAppKey, devAppKey);
  assert.equal(mode(file), 0o600);
  assert.match(k.notes.join('\n'), /could be read by others \(mode 644\): made it 0600/);
});

test('a file that is not a keys file is replaced by new keys, and said so', () => {
  const d = dir();
  writeFileSync(join(d, KEYS_FILE), '{"dev_app_key": "short"}');
  const k = keptKeys(d);
  assert.equal(k.origin, 'new');
  assert.match(k.notes.join('\n'), /was not a keys file: made new keys/);
  assert.equal(mode(k.file), 0o600);
  assert.equal(keptKeys(d).devAppKey, k.devAppKey);
});
