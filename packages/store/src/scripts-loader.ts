/**
 * Loads the Lua scripts of src/lua. Each script is a file `<name>-<number of keys>.lua` that opens with a header
 * (KEYS, ARGV, what it returns); a line `--- @include "<fragment>"` is replaced by src/lua/includes/<fragment>.lua,
 * once per script however often it is named (BullMQ's `@include`). A store defines the scripts it uses on its
 * connection with `defineLuaScripts` and calls them through typed methods: nothing else calls a script by name.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { Redis } from 'ioredis';

const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE = /^--- @include "([\w-]+)"\s*$/gm;
const FILE = /^([a-z][\w-]*?)-(\d+)\.lua$/;

export interface ScriptDef {
  /** The file's name without the key count: `accept`, `batch-claim`. */
  name: string;
  numberOfKeys: number;
  lua: string;
}

function resolveIncludes(source: string, file: string, seen: Set<string>): string {
  return source.replace(INCLUDE, (_line, fragment: string) => {
    if (seen.has(fragment)) return '';
    seen.add(fragment);
    let text: string;
    try {
      text = readFileSync(new URL(`includes/${fragment}.lua`, LUA_DIR), 'utf8');
    } catch (err) {
      throw new Error(`${file}: @include "${fragment}": no src/lua/includes/${fragment}.lua`, { cause: err });
    }
    return resolveIncludes(text, file, seen);
  });
}

function loadAll(): Map<string, ScriptDef> {
  const out = new Map<string, ScriptDef>();
  for (const file of readdirSync(LUA_DIR)) {
    const m = FILE.exec(file);
    if (!m) continue;
    const lua = resolveIncludes(readFileSync(new URL(file, LUA_DIR), 'utf8'), file, new Set());
    out.set(m[1]!, { name: m[1]!, numberOfKeys: Number(m[2]), lua });
  }
  return out;
}

/** Every script of src/lua, read once per process. */
export const SCRIPTS: ReadonlyMap<string, ScriptDef> = loadAll();

/** The ioredis command a script is defined as: `batch-claim` → `ttBatchClaim`. */
export function commandName(script: string): string {
  return `tt${script.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`;
}

/**
 * Defines the named scripts on a connection (once per connection: ioredis then runs them by EVALSHA, loading a
 * script again after a Redis restart). Returns the connection typed with the commands the caller declares.
 */
export function defineLuaScripts<C>(redis: Redis, names: readonly string[]): Redis & C {
  for (const name of names) {
    const def = SCRIPTS.get(name);
    if (!def) throw new Error(`no Lua script ${name} in packages/store/src/lua`);
    const command = commandName(name);
    if (!(command in redis)) redis.defineCommand(command, { numberOfKeys: def.numberOfKeys, lua: def.lua });
  }
  return redis as Redis & C;
}
