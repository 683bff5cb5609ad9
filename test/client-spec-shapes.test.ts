/**
 * The client's types against the API reference (docs/openapi.json, generated from the api's schemas):
 * the field names of each request and view type are exactly those of its schema. The key lists are
 * checked against the types by the compiler, and against the reference here. Then the group methods
 * against the api itself (over an in-memory GroupAdmin).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  TtpushClient,
  TtpushError,
  type BatchCounts,
  type BatchHeader,
  type BatchResultsPage,
  type BatchView,
  type ChangeMembersRequest,
  type CreateGroupRequest,
  type GroupView,
  type MembersChange,
  type MessageView,
  type SendMessageRequest,
} from '@ttpush/client';
import { createApp } from '../apps/api/src/app.ts';
import type { GroupAdmin } from '../apps/api/src/groups.ts';
import { createApiMetrics } from '../apps/api/src/metrics.ts';
import { MemoryService } from '../apps/api/test/helpers/memory-service.ts';
import { KEYS, testConfig } from '../apps/api/test/helpers/test-app.ts';

type Json = Record<string, any>;
const spec = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8')) as Json;

/** Every key of T, no more: the compiler refuses a list that misses or adds one. */
const keysOf =
  <T>() =>
  <K extends Record<keyof T, true>>(k: K & Record<Exclude<keyof K, keyof T>, never>): string[] =>
    Object.keys(k).sort();

const schemaKeys = (name: string, inner?: string): string[] => {
  let schema = spec.components.schemas[name];
  if (inner) schema = schema.properties[inner];
  return Object.keys(schema.properties).sort();
};

test("the client's types have exactly the fields of the reference's schemas", () => {
  const pairs: [string, string[], string[]][] = [
    [
      'Message',
      keysOf<MessageView>()({
        id: true,
        status: true,
        from: true,
        to: true,
        priority: true,
        msg_id: true,
        attempts: true,
        created_at: true,
        updated_at: true,
        send_at: true,
        deadline: true,
        sent_at: true,
        error: true,
        metadata: true,
        parts: true,
      }),
      schemaKeys('Message'),
    ],
    [
      'SendMessageRequest',
      keysOf<SendMessageRequest>()({
        from: true,
        to: true,
        content: true,
        parts: true,
        priority: true,
        send_at: true,
        deadline: true,
        metadata: true,
        callback_url: true,
      }),
      schemaKeys('SendMessageRequest'),
    ],
    [
      'Batch',
      keysOf<BatchView>()({
        id: true,
        status: true,
        from: true,
        priority: true,
        total: true,
        counts: true,
        rejected: true,
        rejected_listed: true,
        duplicates: true,
        rate: true,
        eta_seconds: true,
        created_at: true,
        updated_at: true,
        started_at: true,
        finished_at: true,
        send_at: true,
        deadline: true,
      }),
      schemaKeys('Batch'),
    ],
    [
      'Batch.counts',
      keysOf<BatchCounts>()({ queued: true, sending: true, sent: true, failed: true, cancelled: true }),
      schemaKeys('Batch', 'counts'),
    ],
    [
      'BatchNdjsonHeader',
      keysOf<BatchHeader>()({
        from: true,
        content: true,
        parts: true,
        priority: true,
        send_at: true,
        deadline: true,
        callback_url: true,
      }),
      schemaKeys('BatchNdjsonHeader'),
    ],
    [
      'BatchResultsPage',
      keysOf<BatchResultsPage>()({ results: true, next_cursor: true }),
      schemaKeys('BatchResultsPage'),
    ],
    [
      'CreateGroupRequest',
      keysOf<CreateGroupRequest>()({ creator: true, name: true, type: true, avatar: true, members: true }),
      schemaKeys('CreateGroupRequest'),
    ],
    [
      'ChangeMembersRequest',
      keysOf<ChangeMembersRequest>()({ user: true, members: true }),
      schemaKeys('ChangeMembersRequest'),
    ],
    ['GroupCreated', keysOf<GroupView>()({ group_id: true, name: true, members: true }), schemaKeys('GroupCreated')],
    [
      'MembersChanged',
      keysOf<MembersChange>()({ group_id: true, members: true, changed: true }),
      schemaKeys('MembersChanged'),
    ],
  ];
  for (const [name, client, reference] of pairs) assert.deepEqual(client, reference, name);
});

let server: Server;
let client: TtpushClient;
const service = new MemoryService();
const calls: string[] = [];
const groups: GroupAdmin = {
  create: async (input) => {
    calls.push(`create ${input.creator} ${input.name} ${input.type}`);
    return { groupId: 70, name: input.name, members: [...input.members] };
  },
  changeMembers: async (input) => {
    calls.push(`${input.change} ${input.groupId} by ${input.user}: ${input.members.join(',')}`);
    return {
      groupId: input.groupId,
      members: input.change === 'add' ? [1, 2, ...input.members] : [1],
      changed: [...input.members],
    };
  },
  close: async () => undefined,
};

before(async () => {
  const app = createApp({
    config: testConfig(),
    service,
    groups,
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics(new Registry()),
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new TtpushClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: KEYS.ops });
});

after(async () => {
  service.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('createGroup, addMembers and removeMembers call the group endpoints and answer their views', async () => {
  const g = await client.createGroup({ creator: 1, name: 'ops', type: 'normal', members: [1, 2] });
  assert.deepEqual(g, { group_id: 70, name: 'ops', members: [1, 2] });
  const added = await client.addMembers(70, { user: 1, members: [3] });
  assert.deepEqual(added, { group_id: 70, members: [1, 2, 3], changed: [3] });
  const removed = await client.removeMembers(70, { members: [2] });
  assert.deepEqual(removed, { group_id: 70, members: [1], changed: [2] });
  assert.deepEqual(calls, ['create 1 ops normal', 'add 70 by 1: 3', 'del 70 by 0: 2']);
});

test('a refused group call is a TtpushError with the api code and field', async () => {
  await assert.rejects(
    client.createGroup({ creator: 1, name: 'ops', members: [] }),
    (err: unknown) =>
      err instanceof TtpushError && err.status === 400 && err.code === 'invalid_field' && err.field === 'members',
  );
});
