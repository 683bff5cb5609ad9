/**
 * bull-board at /admin/queues: the BullMQ queues ttpush uses (LANE_QUEUE, "lanes", one per partition, shown as
 * p0-lanes, p1-lanes, ...: conversation lane activations and batch chunks share them so that priorities order both), behind the admin key (the
 * console's session cookie, checked in Redis, or the Bearer key). Its pages, static assets and API all sit under the
 * base path, so the one guard covers them.
 *
 * Read-only: a lane job's state belongs to ttpush's Lua scripts (a job retried or removed by hand would
 * be re-added or repeated by the reconciler), so the board shows jobs and never changes them.
 */
import { Router } from 'express';
import type { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Config } from '@ttpush/config';
import { adminAuth, adminKeyCheck } from '../admin-auth.ts';
import type { ConsoleSessions } from '../console/session.ts';
import { sameOriginUnlessBearer } from '../console/same-origin.ts';
import { routeName } from '../request-context.ts';

export const QUEUES_BOARD_PATH = '/admin/queues';

export function queuesBoardRouter(config: Config, queues: readonly Queue[], sessions: ConsoleSessions): Router {
  const check = adminKeyCheck(config.adminKey);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUES_BOARD_PATH);
  createBullBoard({
    // One queue per partition, all named LANE_QUEUE: the board tells them apart by a partition prefix.
    queues: queues.map(
      (q, p) => new BullMQAdapter(q, { readOnlyMode: true, prefix: `p${p}-`, description: `partition ${p}` }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ttpush queues' } },
  });
  const router = Router();
  router.use(
    QUEUES_BOARD_PATH,
    routeName('admin_queues'),
    adminAuth(check, (req) => sessions.valid(req)),
    // Read-only, but should a change ever be allowed: with the cookie, only from this origin.
    sameOriginUnlessBearer(check),
    serverAdapter.getRouter() as Router,
  );
  return router;
}
