/**
 * The old http_msg_server's group endpoints (protocol notes §9): POST /query/CreateGroup answers
 * {error_code, error_msg, group_id}, POST /query/ChangeMembers {error_code, error_msg}, in jsoncpp's
 * layout. Error 1 bad parameters, 2 unknown app key, 3 a user the key may not act as, 10 TeamTalk
 * unreachable, 11 / 12 TeamTalk refused or dropped the create / the change. Unlike the old server,
 * a request TeamTalk drops is answered (after the reply timeout), not left hanging.
 */
import express, { Router, type Request, type Response } from 'express';
import type { Config } from '@ttpush/config';
import type { Logger } from 'pino';
import { hasScope, maySendToGroup, type AppIdentity, type Keyring } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { GroupError, noTeamTalkGroups, type GroupAdmin, type GroupType } from '../groups.ts';
import { assertMayActAs, requireActingUser, requireGroupText, requireMembers } from '../group-validation.ts';
import type { LegacyReply } from '../legacy-reply.ts';
import { locals } from '../locals.ts';
import { mountLegacyRoute } from './legacy-route.ts';
import { logLegacyRefusal } from '../legacy-refusal.ts';
import { checkObject } from '../schema-check.ts';
import { LegacyChangeMembersBody, LegacyCreateGroupBody } from '../schemas/legacy.ts';
import { requireId } from '../validation.ts';
import { parseJson } from './legacy.ts';

export interface LegacyGroupsDeps {
  config: Config;
  groups: GroupAdmin | undefined;
  keyring: Keyring;
  logger: Logger;
}

/** GroupType on the wire: 1 normal, 2 tmp; absent: tmp, TeamTalk's default. */
function legacyGroupType(value: unknown): GroupType {
  if (value === undefined || value === 2) return 'tmp';
  if (value === 1) return 'normal';
  throw new ApiError('invalid_field', 'group_type must be 1 (normal) or 2 (tmp)', 'group_type');
}

/** The legacy bodies are loose objects (the old server ignored fields it did not know): never called. */
const ignoredField = (key: string): ApiError => new ApiError('unknown_field', `${key} is not a known field`, key);

export function legacyGroupsRouter(deps: LegacyGroupsDeps): Router {
  const { config, keyring, logger } = deps;
  const router = Router();
  const rawBody = express.raw({ limit: config.http.bodyLimitBytes, type: () => true });

  /** Parses, authenticates and checks the body, then runs `act` with TeamTalk; maps every refusal to its code. */
  async function handle(
    req: Request,
    res: Response,
    endpoint: string,
    failed: 'create_group_failed' | 'change_members_failed',
    act: (body: Record<string, unknown>, groups: GroupAdmin, app: AppIdentity) => Promise<LegacyReply>,
  ): Promise<LegacyReply> {
    const l = locals(res);
    const parsed = parseJson(req.body);
    if (!('value' in parsed)) {
      logLegacyRefusal(logger, res, endpoint, null, parsed.refused);
      return { code: 'bad_params' };
    }
    const body = parsed.value;
    const app = typeof body.app_key === 'string' ? await keyring.lookup(body.app_key) : null;
    if (app === null) return { code: 'unknown_app_key' };
    l.app = app;
    // The old replies have no "forbidden" code: a key without manage_groups gets error 3, as for a user it may not use.
    if (!hasScope(app, 'manage_groups')) return { code: 'app_key_user_mismatch' };
    try {
      return await act(body, deps.groups ?? noTeamTalkGroups, app);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.code === 'forbidden_sender') {
          logger.debug({ reqId: l.requestId, reason: err.message }, 'legacy group request refused');
          return { code: 'app_key_user_mismatch' };
        }
        logLegacyRefusal(logger, res, endpoint, err.field, err.message, body);
        return { code: 'bad_params' };
      }
      if (err instanceof GroupError) {
        logger.debug({ reqId: l.requestId, reason: err.message }, 'legacy group request failed in TeamTalk');
        return { code: err.code === 'unavailable' ? 'server_error' : failed };
      }
      throw err;
    }
  }

  const routes = [
    [
      '/query/CreateGroup',
      (req: Request, res: Response) =>
        handle(req, res, '/query/CreateGroup', 'create_group_failed', async (body, groups, app) => {
          const valid = checkObject(LegacyCreateGroupBody, body, {
            fields: {
              req_user_id: (v) => requireId(v, 'req_user_id'),
              group_name: (v) => requireGroupText(v, 'group_name'),
              group_type: legacyGroupType,
              group_avatar: (v) => requireGroupText(v, 'group_avatar', ''),
              user_id_list: (v) => requireMembers(v, 'user_id_list'),
            },
            unknown: ignoredField,
          });
          const creator = valid.req_user_id;
          const name = valid.group_name;
          const type = legacyGroupType(valid.group_type);
          const avatar = valid.group_avatar ?? '';
          const members = [...new Set(valid.user_id_list)];
          assertMayActAs(app, creator, 'req_user_id');
          const g = await groups.create({ creator, name, type, avatar, members });
          return { code: 'ok', groupId: g.groupId };
        }),
    ],
    [
      '/query/ChangeMembers',
      (req: Request, res: Response) =>
        handle(req, res, '/query/ChangeMembers', 'change_members_failed', async (body, groups, app) => {
          const valid = checkObject(LegacyChangeMembersBody, body, {
            fields: {
              req_user_id: (v) => requireActingUser(v, 'req_user_id'),
              group_id: (v) => requireId(v, 'group_id'),
              modify_type: () => {
                throw new ApiError('invalid_field', 'modify_type must be 1 (add) or 2 (del)', 'modify_type');
              },
              user_id_list: (v) => requireMembers(v, 'user_id_list'),
            },
            unknown: ignoredField,
          });
          const user = valid.req_user_id ?? 0;
          const groupId = valid.group_id;
          if (!maySendToGroup(app, groupId)) return { code: 'app_key_user_mismatch' };
          const members = [...new Set(valid.user_id_list)];
          assertMayActAs(app, user, 'req_user_id');
          await groups.changeMembers({ user, groupId, change: valid.modify_type === 1 ? 'add' : 'del', members });
          return { code: 'ok' };
        }),
    ],
  ] as const;

  for (const [path, run] of routes) mountLegacyRoute(router, path, rawBody, run);
  return router;
}
