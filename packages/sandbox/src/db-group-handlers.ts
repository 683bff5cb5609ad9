/**
 * db_proxy_server's GROUP service (notes §6): GROUP_CREATE, GROUP_CHANGE_MEMBER, GROUP_INFO.
 * Each handler returns the reply body, or undefined for "no reply at all".
 */
import { im } from '@ttpush/pdu';
import type { SandboxStore } from './store.ts';

/**
 * Members are exactly `member_id_list`, deduplicated and sorted (the C++ code collects them in a
 * std::set); the creator is not added unless listed. An empty name fails with result_code 1.
 * A group_type outside the enum never gets here: the body does not parse.
 */
export function createGroup(store: SandboxStore, req: im.IMGroupCreateReq): im.IMGroupCreateRsp.$Properties {
  const members = [...new Set(req.memberIdList)].sort((a, b) => a - b);
  const rsp: im.IMGroupCreateRsp.$Properties = {
    userId: req.userId,
    resultCode: 1,
    groupName: req.groupName,
    userIdList: members,
    attachData: req.attachData,
  };
  if (req.groupName.length === 0) return rsp;
  const group = store.insertGroup(req.groupName, req.groupAvatar, req.groupType, req.userId, members);
  rsp.resultCode = 0;
  rsp.groupId = group.id;
  return rsp;
}

/**
 * Allowed for user_id 0 (an administrator), for anyone adding to a TMP group, otherwise for the
 * creator only (else result_code 1 and no lists). An unknown group gets no reply.
 */
export function changeMembers(
  store: SandboxStore,
  req: im.IMGroupChangeMemberReq,
): im.IMGroupChangeMemberRsp.$Properties | undefined {
  const group = store.findGroup(req.groupId);
  if (!group) return undefined;
  const isAdd = req.changeType === im.GroupModifyType.GROUP_MODIFY_TYPE_ADD;
  const allowed =
    req.userId === 0 || (group.type === im.GroupType.GROUP_TYPE_TMP && isAdd) || group.creator === req.userId;
  const rsp: im.IMGroupChangeMemberRsp.$Properties = {
    userId: req.userId,
    changeType: req.changeType,
    resultCode: allowed ? 0 : 1,
    groupId: req.groupId,
    attachData: req.attachData,
  };
  if (!allowed) return rsp;
  const changed = [...new Set(req.memberIdList)].sort((a, b) => a - b);
  for (const id of changed) {
    if (isAdd) group.members.add(id);
    else group.members.delete(id);
  }
  group.version++;
  rsp.chgUserIdList = changed;
  rsp.curUserIdList = [...group.members];
  return rsp;
}

/** The listed groups that exist, each with its members (ascending group id, one entry per id). */
export function groupInfo(store: SandboxStore, req: im.IMGroupInfoListReq): im.IMGroupInfoListRsp.$Properties {
  const ids = [...new Set(req.groupVersionList.map((v) => v.groupId))].sort((a, b) => a - b);
  const list: im.GroupInfo.$Properties[] = [];
  for (const id of ids) {
    const g = store.findGroup(id);
    if (!g) continue;
    list.push({
      groupId: g.id,
      version: g.version,
      groupName: g.name,
      groupAvatar: g.avatar,
      groupCreatorId: g.creator,
      groupType: g.type,
      shieldStatus: 0,
      groupMemberList: [...g.members],
    });
  }
  return { userId: req.userId, groupInfoList: list, attachData: req.attachData };
}
