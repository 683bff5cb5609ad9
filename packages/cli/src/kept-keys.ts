/**
 * The development and admin keys `ttpush start` makes when none is configured, kept in `<data folder>/keys.json`
 * (mode 0600) so that the `export TTPUSH_API_KEY=...` a person pasted still works after a restart. `--new-keys`
 * replaces them. A key given by TTPUSH_DEV_APP_KEY or TTPUSH_ADMIN_KEY is used as given and never written.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const KEYS_FILE = 'keys.json';

export interface KeptKeys {
  devAppKey: string;
  adminKey: string;
  file: string;
  /** 'kept': read from the file; 'new': made now (first start, --new-keys, or an unreadable file). */
  origin: 'kept' | 'new';
  /** Something a person should know (an unreadable file replaced, a mode tightened). */
  notes: string[];
}

interface KeysFileBody {
  dev_app_key: string;
  admin_key: string;
  created: string;
}

export function newDevKey(): string {
  return `dev_${randomBytes(18).toString('base64url')}`;
}

export function newAdminKey(): string {
  return `adm_${randomBytes(24).toString('base64url')}`;
}

function parse(text: string): KeysFileBody | undefined {
  try {
    const j = JSON.parse(text) as Partial<KeysFileBody>;
    const ok = (k: unknown, min: number) => typeof k === 'string' && k.length >= min && /^[\x21-\x7e]+$/.test(k);
    return ok(j.dev_app_key, 8) && ok(j.admin_key, 16) ? (j as KeysFileBody) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the file aside with mode 0600, then puts it in place: never a moment with wider rights or half a file. */
function writeKeys(file: string, body: KeysFileBody, replace: boolean): boolean {
  const tmp = `${file}.${process.pid}.new`;
  writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flag: 'w' });
  chmodSync(tmp, 0o600);
  try {
    if (replace) renameSync(tmp, file);
    else {
      // Another start on the same folder (with a Redis of its own elsewhere) may create it at the same moment.
      linkSync(tmp, file);
      unlinkSync(tmp);
    }
    return true;
  } catch (err) {
    unlinkSync(tmp);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Reads the kept keys of `dir` (which must exist), making and keeping new ones when there are none or `renew`. */
export function keptKeys(dir: string, opts: { renew?: boolean } = {}): KeptKeys {
  const file = join(dir, KEYS_FILE);
  const notes: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const kept = text === undefined || opts.renew ? undefined : parse(text);
    if (kept) {
      const mode = statSync(file).mode & 0o777;
      if (mode !== 0o600) {
        chmodSync(file, 0o600);
        notes.push(`${file} could be read by others (mode ${mode.toString(8)}): made it 0600`);
      }
      return { devAppKey: kept.dev_app_key, adminKey: kept.admin_key, file, origin: 'kept', notes };
    }
    if (text !== undefined && !opts.renew) notes.push(`${file} was not a keys file: made new keys`);
    const body: KeysFileBody = {
      dev_app_key: newDevKey(),
      admin_key: newAdminKey(),
      created: new Date().toISOString(),
    };
    if (writeKeys(file, body, text !== undefined)) {
      return { devAppKey: body.dev_app_key, adminKey: body.admin_key, file, origin: 'new', notes };
    }
  }
  throw new Error(`cannot write ${file}: it keeps changing`);
}
