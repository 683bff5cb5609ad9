/** POST /v1/groups, POST and DELETE /v1/groups/:id/members: synchronous group administration (issue 6). */
import { Router, type Request, type Response } from 'express';
import type { Config } from '@ttpush/config';
import type { Logger } from 'pino';
import { bearerAuth, requireGroup, requireScope, type Keyring } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { GroupError, noTeamTalkGroups, type ChangeType, type GroupAdmin } from '../groups.ts';
import {
  assertMayActAs,
  parseChangeMembersBody,
  parseCreateGroupBody,
  parseGroupIdParam,
} from '../group-validation.ts';
import { jsonBody, requireJsonType } from '../json-body.ts';
import { locals } from '../locals.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';

export interface GroupsDeps {
  config: Config;
  /** Undefined when no TeamTalk is configured: every call answers 503 teamtalk_unavailable. */
  groups: GroupAdmin | undefined;
  keyring: Keyring;
  logger: Logger;
}

function unavailable(): ApiError {
  return new ApiError(
    'teamtalk_unavailable',
    'db_proxy_server is not reachable: retry later (check TTPUSH_DB_PROXY_ADDRS)',
  );
}

export function groupsRouter(deps: GroupsDeps): Router {
  const { config, keyring, logger } = deps;
  const router = Router();
  const auth = bearerAuth(keyring);
  const body = [requireJsonType(), jsonBody(config.http.bodyLimitBytes)];

  const admin = (): GroupAdmin => deps.groups ?? noTeamTalkGroups;

  router
    .route('/v1/groups')
    .post(routeName('/v1/groups'), auth, ...body, async (req, res) => {
      const app = locals(res).app!;
      requireScope(app, 'manage_groups', 'creating a group');
      const input = parseCreateGroupBody(req.body);
      assertMayActAs(app, input.creator, 'creator');
      try {
        const g = await admin().create(input);
        logger.info(
          { reqId: locals(res).requestId, app: app.name, keyId: app.keyId, group: g.groupId },
          'group created',
        );
        res.status(201).json({ group_id: g.groupId, name: g.name, members: g.members });
      } catch (err) {
        if (!(err instanceof GroupError)) throw err;
        if (err.code === 'unavailable') throw unavailable();
        throw new ApiError(
          'group_create_failed',
          err.code === 'refused'
            ? `TeamTalk refused to create the group (result_code ${err.resultCode}): check that name is not empty`
            : 'TeamTalk did not answer the create request: check the request and retry',
        );
      }
    })
    .all(routeName('/v1/groups'), methodNotAllowed(['POST']));

  const change = (kind: ChangeType) => async (req: Request, res: Response) => {
    const app = locals(res).app!;
    requireScope(app, 'manage_groups', "changing a group's members");
    const groupId = parseGroupIdParam(String(req.params.id));
    requireGroup(app, groupId, 'group_id');
    const input = parseChangeMembersBody(req.body);
    assertMayActAs(app, input.user, 'user');
    try {
      const r = await admin().changeMembers({ user: input.user, groupId, change: kind, members: input.members });
      logger.info(
        {
          reqId: locals(res).requestId,
          app: app.name,
          keyId: app.keyId,
          group: groupId,
          change: kind,
          count: r.changed.length,
        },
        'group members changed',
      );
      res.status(200).json({ group_id: r.groupId, members: r.members, changed: r.changed });
    } catch (err) {
      if (!(err instanceof GroupError)) throw err;
      if (err.code === 'unavailable') throw unavailable();
      if (err.code === 'no_reply') {
        throw new ApiError(
          'group_not_found',
          `TeamTalk did not answer: the group probably does not exist (group ${groupId})`,
          'group_id',
        );
      }
      throw new ApiError(
        'group_change_forbidden',
        `TeamTalk refused the change (result_code ${err.resultCode}): only the creator or user 0 may change a normal group's members, and only the creator or user 0 may remove from a temporary one`,
        'user',
      );
    }
  };

  router
    .route('/v1/groups/:id/members')
    .post(routeName('/v1/groups/:id/members'), auth, ...body, change('add'))
    .delete(routeName('/v1/groups/:id/members'), auth, ...body, change('del'))
    .all(routeName('/v1/groups/:id/members'), methodNotAllowed(['POST', 'DELETE']));

  return router;
}
