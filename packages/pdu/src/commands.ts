/**
 * Service and command ids of the TeamTalk protocol (protocol notes §3).
 * A command id carries its service in the high byte (0x0301 is MSG_DATA of service MSG = 0x0003).
 */

export const ServiceId = {
  LOGIN: 0x0001,
  BUDDY_LIST: 0x0002,
  MSG: 0x0003,
  GROUP: 0x0004,
  OTHER: 0x0007,
} as const;
export type ServiceId = (typeof ServiceId)[keyof typeof ServiceId];

export const CommandId = {
  LOGIN_REQ_USERLOGIN: 0x0103,
  LOGIN_RES_USERLOGIN: 0x0104,
  MSG_DATA: 0x0301,
  MSG_DATA_ACK: 0x0302,
  MSG_READ_NOTIFY: 0x0304,
  MSG_LIST_REQUEST: 0x0309,
  MSG_LIST_RESPONSE: 0x030a,
  MSG_GET_LATEST_MSG_ID_REQ: 0x030b,
  MSG_GET_LATEST_MSG_ID_RSP: 0x030c,
  GROUP_INFO_REQUEST: 0x0403,
  GROUP_INFO_RESPONSE: 0x0404,
  GROUP_CREATE_REQUEST: 0x0405,
  GROUP_CREATE_RESPONSE: 0x0406,
  GROUP_CHANGE_MEMBER_REQUEST: 0x0407,
  GROUP_CHANGE_MEMBER_RESPONSE: 0x0408,
  GROUP_CHANGE_MEMBER_NOTIFY: 0x040b,
  OTHER_HEARTBEAT: 0x0701,
  OTHER_STOP_RECV_PACKET: 0x0702,
  OTHER_ROLE_SET: 0x0707,
} as const;
export type CommandId = (typeof CommandId)[keyof typeof CommandId];

/** The service a command belongs to: its high byte. */
export function serviceOf(commandId: number): number {
  return commandId >>> 8;
}

const names = new Map<number, string>(Object.entries(CommandId).map(([k, v]) => [v, k]));

/** A readable name for logs: `MSG_DATA` or `0x0215`. */
export function commandName(commandId: number): string {
  return names.get(commandId) ?? `0x${commandId.toString(16).padStart(4, '0')}`;
}
