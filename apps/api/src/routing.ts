/** JSON answers for paths no route serves (404) and methods a route does not take (405, with Allow). */
import type { RequestHandler } from 'express';
import { ApiError } from './errors.ts';

/** Answers OPTIONS with 204 and Allow, any other unhandled method with 405. */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = (allowed.includes('GET') ? [...allowed, 'HEAD'] : [...allowed]).join(', ');
  return (req, res) => {
    if (req.method === 'OPTIONS') {
      res.status(204).set('Allow', allow).end();
      return;
    }
    throw new ApiError(
      'method_not_allowed',
      `${req.method} is not allowed on ${req.path}: use ${allowed.join(' or ')}`,
      null,
      { Allow: allow },
    );
  };
}

export const notFound: RequestHandler = (req) => {
  throw new ApiError(
    'not_found',
    `there is no endpoint at ${req.path}: the endpoints are /v1/messages, /v1/messages/{id}, /v1/batches, /v1/batches/{id} (and its /results, /pause, /resume), /v1/groups, /v1/groups/{id}/members, /query/SendSingleMessage, /query/SendGroupMessage, /query/CreateGroup, /query/ChangeMembers, /healthz, /readyz, /metrics, /openapi.json and /docs`,
  );
};
