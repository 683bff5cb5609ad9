/**
 * db_proxy_server contract, groups (notes §6): GROUP_CREATE, GROUP_CHANGE_MEMBER, GROUP_INFO.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, decodeBody, encodeFrame, encodePdu, im, type Frame } from '@ttpush/pdu';
import { pduVector, type RawClient } from '@ttpush/testkit';
import { sandboxFor } from './helpers/sandbox.ts';
import { GROUP_TEXT, hex, msgData } from './helpers/messages.ts';

const NORMAL = im.GroupType.GROUP_TYPE_NORMAL;
const TMP = im.GroupType.GROUP_TYPE_TMP;
const ADD = im.GroupModifyType.GROUP_MODIFY_TYPE_ADD;
const DEL = im.GroupModifyType.GROUP_MODIFY_TYPE_DEL;

async function change(
  c: RawClient,
  userId: number,
  changeType: number,
  groupId: number,
  members: number[],
  seq: number,
) {
  c.send(
    CommandId.GROUP_CHANGE_MEMBER_REQUEST,
    { userId, changeType: changeType as im.GroupModifyType, groupId, memberIdList: members },
    seq,
  );
  return (await c.nextBody(CommandId.GROUP_CHANGE_MEMBER_RESPONSE, 2000, (f) => f.seqNum === seq)).body;
}

/** Sends requests that must get no reply, then a GROUP_INFO probe in a later write that must. */
async function expectNoReplies(c: RawClient, bad: Buffer[]): Promise<void> {
  c.sendRaw(Buffer.concat(bad));
  await new Promise((r) => setTimeout(r, 20));
  c.send(CommandId.GROUP_INFO_REQUEST, { userId: 1, groupVersionList: [] }, 999);
  await c.next((f: Frame) => f.commandId === CommandId.GROUP_INFO_RESPONSE && f.seqNum === 999);
  assert.deepEqual(
    c.received.filter((f) => f.seqNum !== 999).map((f) => f.seqNum),
    [],
  );
}

describe('db_proxy groups', () => {
  it('answers GROUP_CREATE byte for byte as the real server does (group id = next row id)', async (t) => {
    // Three seeded groups make the next row id 4, as in the recorded answer.
    const { sandbox, connect } = await sandboxFor(t, { groups: { '1': [9], '2': [9], '3': [9] } });
    const c = await connect(sandbox.dbProxy.port);
    c.send(
      CommandId.GROUP_CREATE_REQUEST,
      {
        userId: 3831239,
        groupType: NORMAL,
        groupName: '测试群',
        groupAvatar: '',
        memberIdList: [3831240, 3831239, 3831240],
        attachData: Buffer.from('corr-0005'),
      },
      11,
    );
    const reply = await c.next((f) => f.commandId === CommandId.GROUP_CREATE_RESPONSE);
    assert.equal(hex(encodeFrame(reply, reply.body)), hex(pduVector('group_create').bytes));
    assert.deepEqual(sandbox.store.group(4), {
      id: 4,
      name: '测试群',
      avatar: '',
      type: NORMAL,
      creator: 3831239,
      members: [3831239, 3831240],
      version: 1,
    });
  });

  it('makes the members exactly the list: the creator is not added unless listed', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    c.send(
      CommandId.GROUP_CREATE_REQUEST,
      { userId: 1, groupType: TMP, groupName: 'g', groupAvatar: 'a.png', memberIdList: [5, 3, 5] },
      1,
    );
    const { body } = await c.nextBody(CommandId.GROUP_CREATE_RESPONSE);
    assert.equal(body.resultCode, 0);
    assert.deepEqual(body.userIdList, [3, 5]);
    assert.deepEqual(sandbox.store.group(body.groupId)?.members, [3, 5]);
    assert.equal(sandbox.store.group(body.groupId)?.creator, 1);
  });

  it('refuses an empty group name with result_code 1 and no group_id', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    c.send(
      CommandId.GROUP_CREATE_REQUEST,
      { userId: 1, groupType: NORMAL, groupName: '', groupAvatar: '', memberIdList: [1, 2] },
      1,
    );
    const { body } = await c.nextBody(CommandId.GROUP_CREATE_RESPONSE);
    assert.equal(body.resultCode, 1);
    assert.equal(Object.hasOwn(body, 'groupId'), false);
    assert.deepEqual(sandbox.store.groups(), []);
  });

  it('gives no reply to a group_type or change_type outside the enum, or a change to an unknown group', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { groups: { '10': [1, 2] } });
    const c = await connect(sandbox.dbProxy.port);
    await expectNoReplies(c, [
      encodePdu(
        CommandId.GROUP_CREATE_REQUEST,
        { userId: 1, groupType: 3 as im.GroupType, groupName: 'x', groupAvatar: '', memberIdList: [1] },
        1,
      ),
      encodePdu(
        CommandId.GROUP_CHANGE_MEMBER_REQUEST,
        { userId: 1, changeType: 3 as im.GroupModifyType, groupId: 10, memberIdList: [3] },
        2,
      ),
      encodePdu(
        CommandId.GROUP_CHANGE_MEMBER_REQUEST,
        { userId: 0, changeType: ADD, groupId: 11, memberIdList: [3] },
        3,
      ),
    ]);
    assert.deepEqual(sandbox.store.group(10)?.members, [1, 2]);
    assert.equal(sandbox.store.groups().length, 1);
  });

  it('lets the creator change a NORMAL group, refuses others with result_code 1', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { groups: { '20': [1, 2] } });
    const c = await connect(sandbox.dbProxy.port);
    const refused = await change(c, 2, ADD, 20, [3], 1);
    assert.equal(refused.resultCode, 1);
    assert.deepEqual(refused.chgUserIdList, []);
    assert.deepEqual(refused.curUserIdList, []);
    const added = await change(c, 1, ADD, 20, [4, 3, 4, 2], 2);
    assert.equal(added.resultCode, 0);
    assert.deepEqual(added.chgUserIdList, [2, 3, 4]);
    assert.deepEqual(added.curUserIdList, [1, 2, 3, 4]);
    const removed = await change(c, 1, DEL, 20, [2, 9], 3);
    assert.deepEqual(removed.chgUserIdList, [2, 9]);
    assert.deepEqual(removed.curUserIdList, [1, 3, 4]);
    assert.equal((await change(c, 3, DEL, 20, [4], 4)).resultCode, 1);
    assert.deepEqual(sandbox.store.group(20)?.members, [1, 3, 4]);
  });

  it('lets anyone add to a TMP group, only the creator remove; user 0 may do anything', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    sandbox.store.createGroup({ id: 30, type: TMP, members: [1, 2] });
    const c = await connect(sandbox.dbProxy.port);
    assert.equal((await change(c, 7, ADD, 30, [5], 1)).resultCode, 0);
    assert.equal((await change(c, 2, DEL, 30, [5], 2)).resultCode, 1);
    assert.equal((await change(c, 0, DEL, 30, [5, 2], 3)).resultCode, 0);
    assert.deepEqual(sandbox.store.group(30)?.members, [1]);
  });

  it('lets a member added later send group messages', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { groups: { '40': [1] } });
    const c = await connect(sandbox.dbProxy.port);
    await change(c, 1, ADD, 40, [2], 1);
    c.send(CommandId.MSG_DATA, msgData({ from: 2, to: 40, type: GROUP_TEXT }), 2);
    const { body } = await c.nextBody(CommandId.MSG_DATA);
    assert.equal(body.msgId, 1);
  });

  it('answers GROUP_INFO with the members of each listed group that exists, and echoes attach_data', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { groups: { '50': [3, 1, 2], '60': [4] } });
    const c = await connect(sandbox.dbProxy.port);
    c.send(
      CommandId.GROUP_INFO_REQUEST,
      {
        userId: 1,
        groupVersionList: [
          { groupId: 60, version: 0 },
          { groupId: 55, version: 0 },
          { groupId: 50, version: 0 },
        ],
        attachData: Buffer.from('ga'),
      },
      5,
    );
    const { frame, body } = await c.nextBody(CommandId.GROUP_INFO_RESPONSE);
    assert.equal(frame.seqNum, 5);
    assert.equal(body.attachData.toString(), 'ga');
    assert.deepEqual(
      body.groupInfoList.map((g) => [g.groupId, g.groupCreatorId, g.groupType, g.groupMemberList]),
      [
        [50, 3, NORMAL, [3, 1, 2]],
        [60, 4, NORMAL, [4]],
      ],
    );
    assert.equal(decodeBody(CommandId.GROUP_INFO_RESPONSE, frame.body).userId, 1);
  });
});
