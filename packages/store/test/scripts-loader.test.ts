import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { SCRIPTS, commandName } from '../src/scripts-loader.ts';

const LUA_DIR = new URL('../src/lua/', import.meta.url);

describe('Lua script loader', () => {
  it('loads every <name>-<keys>.lua file with its key count, includes resolved', () => {
    const files = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));
    assert.equal(SCRIPTS.size, files.length);
    for (const file of files) {
      const [, name, keys] = /^(.+)-(\d+)\.lua$/.exec(file)!;
      const def = SCRIPTS.get(name!);
      assert.ok(def, file);
      assert.equal(def.numberOfKeys, Number(keys));
      assert.doesNotMatch(def.lua, /@include/, `${file} keeps an unresolved include`);
    }
  });

  it('every script opens with a header naming KEYS, ARGV and what it returns', () => {
    for (const file of readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'))) {
      const head = readFileSync(new URL(file, LUA_DIR), 'utf8').split('\n').slice(0, 30).join('\n');
      for (const word of ['KEYS', 'ARGV', 'Returns'])
        assert.match(head, new RegExp(`^--.*${word}`, 'm'), `${file}: ${word}`);
    }
  });

  it('names commands in camel case after the file', () => {
    assert.equal(commandName('batch-claim'), 'ttBatchClaim');
    assert.equal(commandName('accept'), 'ttAccept');
  });
});
