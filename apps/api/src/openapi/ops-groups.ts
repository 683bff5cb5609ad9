/** The API reference of POST /v1/groups, POST and DELETE /v1/groups/{id}/members (routes/groups.ts). */
import { ChangeMembersBody, CreateGroupBody, GroupCreated, GroupIdParams, MembersChanged } from '../schemas/group.ts';
import { defineOperation } from './registry.ts';
import { JSON_BODY_ERRORS, json } from './op-parts.ts';

defineOperation({
  method: 'post',
  path: '/v1/groups',
  tag: 'Groups',
  operationId: 'createGroup',
  summary: 'Create a TeamTalk group',
  description: 'Synchronous: answered once db_proxy_server created the group.',
  auth: 'app',
  body: json(CreateGroupBody),
  responses: { '201': { description: 'Created.', body: json(GroupCreated) } },
  errors: [
    ...JSON_BODY_ERRORS,
    'unauthorized',
    'forbidden_sender',
    'forbidden_scope',
    'group_create_failed',
    'teamtalk_unavailable',
  ],
});

const change = (method: 'post' | 'delete', verb: 'add' | 'remove') =>
  defineOperation({
    method,
    path: '/v1/groups/{id}/members',
    tag: 'Groups',
    operationId: verb === 'add' ? 'addGroupMembers' : 'removeGroupMembers',
    summary: verb === 'add' ? 'Add members to a group' : 'Remove members from a group',
    description:
      "Only the creator or user 0 may change a normal group's members; only the creator or user 0 may remove from a temporary one (403 group_change_forbidden).",
    auth: 'app',
    params: GroupIdParams,
    body: json(ChangeMembersBody),
    responses: { '200': { description: 'Changed.', body: json(MembersChanged) } },
    errors: [
      ...JSON_BODY_ERRORS,
      'unauthorized',
      'forbidden_sender',
      'forbidden_group',
      'forbidden_scope',
      'group_change_forbidden',
      'group_not_found',
      'teamtalk_unavailable',
    ],
  });

change('post', 'add');
change('delete', 'remove');
