/**
 * `ttpush admin`: apps, keys and the audit log of a running ttpush, through its /v1/admin endpoints with
 * the admin key from TTPUSH_ADMIN_KEY. A key's secret is printed once, when the key is created or rotated.
 * Exit codes as `send`: 0 done, 2 usage or configuration error, 3 ttpush refused (4xx), 4 unreachable or 5xx.
 */
import { parseInteger, parseLine, required, UsageError, usageErrorText, type ParsedLine } from '../args.ts';
import { DEFAULT_URL, baseUrl } from '../remote/connection.ts';
import { EXIT } from '../remote/exit-codes.ts';

export const adminUsage = `usage: ttpush admin <command> [options]

Manages the apps and keys of a running ttpush, with the admin key in TTPUSH_ADMIN_KEY.

commands:
  apps create NAME [--rate-limit N] [--daily-quota N] [--priority P]
  apps list
  apps show NAME
  apps set NAME [--rate-limit N|none] [--daily-quota N|none] [--priority P] [--disable | --enable]
  keys create --app NAME [--senders 1,2|*] [--groups 7,8|*] [--batches] [--manage-groups] [--read-all]
                [--manage-webhooks]
  keys list [--app NAME]
  keys revoke KEY_ID
  keys rotate KEY_ID [--grace SECONDS]
  audit [--app NAME] [--limit N]

options:
  --url URL         ttpush's address (default ${DEFAULT_URL})
  --json            print ttpush's answer as JSON on stdout
  -h, --help        this text

A new key's secret is printed once (keys create, keys rotate): store it then. --senders defaults to none
and --groups to none: name what the key may use, or "*" for everything.

exit codes: 0 done, 2 usage or configuration error, 3 ttpush refused the request, 4 ttpush unreachable
or failing (5xx)`;

const OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'rate-limit': { type: 'string' },
  'daily-quota': { type: 'string' },
  priority: { type: 'string' },
  disable: { type: 'boolean' },
  enable: { type: 'boolean' },
  app: { type: 'string' },
  senders: { type: 'string' },
  groups: { type: 'string' },
  batches: { type: 'boolean' },
  'manage-groups': { type: 'boolean' },
  'read-all': { type: 'boolean' },
  'manage-webhooks': { type: 'boolean' },
  grace: { type: 'string' },
  limit: { type: 'string' },
} as const;

type Values = ParsedLine<typeof OPTIONS>['values'];

/** The answers' shapes as far as the text output reads them (the API reference has them in full). */
interface AppAnswer {
  name: string;
  rate_limit: number | null;
  daily_quota: number | null;
  priority: string;
  disabled: boolean;
}
interface ScopesAnswer {
  senders: number[] | '*';
  groups: number[] | '*';
  batches: boolean;
  manage_groups: boolean;
  read_all: boolean;
  manage_webhooks?: boolean;
}
interface KeyAnswer {
  id: string;
  app: string;
  scopes: ScopesAnswer;
  last_used_at: string | null;
  revoked_at: string | null;
}
interface CreatedAnswer {
  key: KeyAnswer;
  secret: string;
  previous?: KeyAnswer;
}
interface AuditAnswer {
  entries: {
    at: string;
    action: string;
    app: string | null;
    key_id: string | null;
    changes: unknown;
    request_id: string | null;
  }[];
}

/** One HTTP call the command makes, and how its answer is printed. */
export interface AdminCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  print: (answer: never) => string;
}

const ID_MAX = 4294967295;

function idList(text: string, flag: string): number[] | '*' {
  if (text.trim() === '*') return '*';
  if (text.trim() === '') return [];
  return text.split(',').map((s) => parseInteger(s, flag, { min: 0, max: ID_MAX }));
}

function limitValue(text: string | undefined, flag: string, integer: boolean): number | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'none') return null;
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${flag} must be a ${integer ? 'whole' : 'positive'} number above 0, or none, got '${text}'`);
  }
  return value;
}

function priorityValue(text: string | undefined): string | undefined {
  if (text !== undefined && !['high', 'normal', 'low'].includes(text)) {
    throw new UsageError(`--priority must be high, normal or low, got '${text}'`);
  }
  return text;
}

function only(values: Values, allowed: readonly string[], what: string): void {
  const common = ['url', 'json', 'help'];
  for (const [flag, v] of Object.entries(values)) {
    if (v !== undefined && !common.includes(flag) && !allowed.includes(flag)) {
      throw new UsageError(`--${flag} does not apply to '${what}'`);
    }
  }
}

function one(positionals: string[], what: string, name: string): string {
  if (positionals.length !== 1 || positionals[0] === '') throw new UsageError(`'${what}' takes one ${name}`);
  return positionals[0]!;
}

const seg = (s: string) => encodeURIComponent(s);

function appLine(a: AppAnswer): string {
  const limit = a.rate_limit === null ? 'no rate limit' : `${a.rate_limit} msg/s`;
  const quota = a.daily_quota === null ? 'no daily quota' : `${a.daily_quota}/day`;
  return `${a.name}  ${limit}, ${quota}, priority ${a.priority}${a.disabled ? ', DISABLED' : ''}`;
}

function scopeText(s: ScopesAnswer): string {
  const ids = (v: unknown) => (v === '*' ? '*' : (v as number[]).join(',') || 'none');
  const flags = (['batches', 'manage_groups', 'read_all', 'manage_webhooks'] as const).filter((f) => s[f]);
  return `senders ${ids(s.senders)}; groups ${ids(s.groups)}${flags.length ? `; ${flags.join(', ')}` : ''}`;
}

function keyLine(k: KeyAnswer): string {
  const now = Date.now();
  const state =
    k.revoked_at === null
      ? 'active'
      : Date.parse(k.revoked_at) > now
        ? `active until ${k.revoked_at}`
        : `revoked ${k.revoked_at}`;
  return `${k.id}  app ${k.app}  ${state}  (${scopeText(k.scopes)})  last used ${k.last_used_at ?? 'never'}`;
}

function secretText(created: CreatedAnswer): string {
  return `${keyLine(created.key)}\nsecret (shown this once; store it now):\n${created.secret}`;
}

/** The call a command line asks for; throws UsageError for a wrong one. */
export function adminCall(argv: string[]): { call: AdminCall; url: string | undefined; json: boolean } | 'help' {
  const { values, positionals } = parseLine(argv, OPTIONS);
  if (values.help || positionals.length === 0) {
    if (values.help) return 'help';
    throw new UsageError('name a command: apps, keys or audit');
  }
  const [group, sub, ...rest] = positionals;
  const what = `${group}${sub === undefined ? '' : ` ${sub}`}`;
  let call: AdminCall;
  if (group === 'apps' && sub === 'create') {
    only(values, ['rate-limit', 'daily-quota', 'priority'], what);
    const name = one(rest, what, 'app NAME');
    const body: Record<string, unknown> = { name };
    const rate = limitValue(values['rate-limit'], '--rate-limit', false);
    const quota = limitValue(values['daily-quota'], '--daily-quota', true);
    if (rate != null) body.rate_limit = rate;
    if (quota != null) body.daily_quota = quota;
    if (values.priority !== undefined) body.priority = priorityValue(values.priority);
    call = { method: 'POST', path: '/v1/admin/apps', body, print: (a: AppAnswer) => `created app ${appLine(a)}` };
  } else if (group === 'apps' && sub === 'list') {
    only(values, [], what);
    if (rest.length > 0) throw new UsageError(`'${what}' takes no arguments`);
    call = {
      method: 'GET',
      path: '/v1/admin/apps',
      print: (r: { apps: AppAnswer[] }) => (r.apps.length ? r.apps.map(appLine).join('\n') : 'no apps'),
    };
  } else if (group === 'apps' && sub === 'show') {
    only(values, [], what);
    const name = one(rest, what, 'app NAME');
    call = { method: 'GET', path: `/v1/admin/apps/${seg(name)}`, print: appLine };
  } else if (group === 'apps' && sub === 'set') {
    only(values, ['rate-limit', 'daily-quota', 'priority', 'disable', 'enable'], what);
    const name = one(rest, what, 'app NAME');
    if (values.disable && values.enable) throw new UsageError('give --disable or --enable, not both');
    const body: Record<string, unknown> = {};
    const rate = limitValue(values['rate-limit'], '--rate-limit', false);
    const quota = limitValue(values['daily-quota'], '--daily-quota', true);
    if (rate !== undefined) body.rate_limit = rate;
    if (quota !== undefined) body.daily_quota = quota;
    if (values.priority !== undefined) body.priority = priorityValue(values.priority);
    if (values.disable) body.disabled = true;
    if (values.enable) body.disabled = false;
    if (Object.keys(body).length === 0) {
      throw new UsageError('give something to set: --rate-limit, --daily-quota, --priority, --disable or --enable');
    }
    call = { method: 'PATCH', path: `/v1/admin/apps/${seg(name)}`, body, print: (a: AppAnswer) => `app ${appLine(a)}` };
  } else if (group === 'keys' && sub === 'create') {
    only(values, ['app', 'senders', 'groups', 'batches', 'manage-groups', 'read-all', 'manage-webhooks'], what);
    if (rest.length > 0) throw new UsageError(`'${what}' takes no arguments (the app is --app NAME)`);
    const app = required(values.app, '--app');
    call = {
      method: 'POST',
      path: `/v1/admin/apps/${seg(app)}/keys`,
      body: {
        senders: values.senders === undefined ? [] : idList(values.senders, '--senders'),
        groups: values.groups === undefined ? [] : idList(values.groups, '--groups'),
        batches: values.batches ?? false,
        manage_groups: values['manage-groups'] ?? false,
        read_all: values['read-all'] ?? false,
        manage_webhooks: values['manage-webhooks'] ?? false,
      },
      print: secretText,
    };
  } else if (group === 'keys' && sub === 'list') {
    only(values, ['app'], what);
    if (rest.length > 0) throw new UsageError(`'${what}' takes no arguments (filter with --app NAME)`);
    call = {
      method: 'GET',
      path: values.app === undefined ? '/v1/admin/keys' : `/v1/admin/keys?app=${seg(values.app)}`,
      print: (r: { keys: KeyAnswer[] }) => (r.keys.length ? r.keys.map(keyLine).join('\n') : 'no keys'),
    };
  } else if (group === 'keys' && sub === 'revoke') {
    only(values, [], what);
    const id = one(rest, what, 'KEY_ID');
    call = { method: 'DELETE', path: `/v1/admin/keys/${seg(id)}`, print: (k: KeyAnswer) => `revoked ${keyLine(k)}` };
  } else if (group === 'keys' && sub === 'rotate') {
    only(values, ['grace'], what);
    const id = one(rest, what, 'KEY_ID');
    const grace = values.grace === undefined ? 0 : parseInteger(values.grace, '--grace', { min: 0, max: 604800 });
    call = {
      method: 'POST',
      path: `/v1/admin/keys/${seg(id)}/rotate`,
      body: { grace_seconds: grace },
      print: (r: CreatedAnswer) => `old: ${keyLine(r.previous!)}\nnew: ${secretText(r)}`,
    };
  } else if (group === 'audit' && sub === undefined) {
    only(values, ['app', 'limit'], what);
    const q = new URLSearchParams();
    if (values.app !== undefined) q.set('app', values.app);
    if (values.limit !== undefined)
      q.set('limit', String(parseInteger(values.limit, '--limit', { min: 1, max: 1000 })));
    call = {
      method: 'GET',
      path: `/v1/admin/audit${q.size ? `?${q}` : ''}`,
      print: (r: AuditAnswer) =>
        r.entries.length
          ? r.entries
              .map(
                (e) =>
                  `${e.at}  ${e.action}  app ${e.app ?? '-'}  key ${e.key_id ?? '-'}  ${JSON.stringify(e.changes)}  request ${e.request_id ?? '-'}`,
              )
              .join('\n')
          : 'no entries',
    };
  } else {
    throw new UsageError(`unknown command 'admin ${positionals.join(' ')}'`);
  }
  return { call, url: values.url, json: values.json ?? false };
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let req;
  let base: string;
  const adminKey = (env.TTPUSH_ADMIN_KEY ?? '').trim();
  try {
    req = adminCall(argv);
    if (req === 'help') {
      process.stdout.write(`${adminUsage}\n`);
      return EXIT.ok;
    }
    base = baseUrl(req.url);
    if (adminKey === '') {
      throw new UsageError(
        'TTPUSH_ADMIN_KEY is not set: export the admin key of the api (ttpush start prints one), e.g. TTPUSH_ADMIN_KEY=...',
      );
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('admin', err, adminUsage));
    return EXIT.usage;
  }
  const { call, json } = req;
  let status: number;
  let text: string;
  try {
    const r = await fetch(`${base}${call.path}`, {
      method: call.method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(call.body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(call.body !== undefined && { body: JSON.stringify(call.body) }),
      signal: AbortSignal.timeout(30_000),
    });
    status = r.status;
    text = await r.text();
  } catch (err) {
    process.stderr.write(`ttpush admin: ttpush at ${base} is unreachable: ${(err as Error).message}\n`);
    return EXIT.unavailable;
  }
  let answer: { error?: { code: string; message: string; field: string | null } } | null = null;
  try {
    answer = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: reported below
  }
  if (status >= 400) {
    const e = answer?.error;
    const detail = e ? `${e.code}: ${e.message}${e.field ? ` (field ${e.field})` : ''}` : text.slice(0, 200);
    process.stderr.write(`ttpush admin: ${detail} [HTTP ${status}]\n`);
    return status >= 500 ? EXIT.unavailable : EXIT.refused;
  }
  process.stdout.write(json ? `${JSON.stringify(answer)}\n` : `${call.print(answer as never)}\n`);
  return EXIT.ok;
}
