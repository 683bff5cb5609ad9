/**
 * Which protobuf message each command carries, and typed helpers to encode and decode bodies.
 * Only commands the gateway uses are decoded; everything else (route_server relays many) is skipped.
 */
import { im } from './gen/proto.js';
import { CommandId } from './commands.ts';
import { encodeFrame, type Frame } from './frame.ts';
import { ProtocolError } from './errors.ts';

export { im };

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(reader: Uint8Array): T;
}

/** Command id → its body message, for the commands we speak. */
export const bodyTypes = {
  [CommandId.LOGIN_REQ_USERLOGIN]: im.IMLoginReq,
  [CommandId.LOGIN_RES_USERLOGIN]: im.IMLoginRes,
  [CommandId.MSG_DATA]: im.IMMsgData,
  [CommandId.MSG_DATA_ACK]: im.IMMsgDataAck,
  [CommandId.MSG_LIST_REQUEST]: im.IMGetMsgListReq,
  [CommandId.MSG_LIST_RESPONSE]: im.IMGetMsgListRsp,
  [CommandId.MSG_GET_LATEST_MSG_ID_REQ]: im.IMGetLatestMsgIdReq,
  [CommandId.MSG_GET_LATEST_MSG_ID_RSP]: im.IMGetLatestMsgIdRsp,
  [CommandId.GROUP_INFO_REQUEST]: im.IMGroupInfoListReq,
  [CommandId.GROUP_INFO_RESPONSE]: im.IMGroupInfoListRsp,
  [CommandId.GROUP_CREATE_REQUEST]: im.IMGroupCreateReq,
  [CommandId.GROUP_CREATE_RESPONSE]: im.IMGroupCreateRsp,
  [CommandId.GROUP_CHANGE_MEMBER_REQUEST]: im.IMGroupChangeMemberReq,
  [CommandId.GROUP_CHANGE_MEMBER_RESPONSE]: im.IMGroupChangeMemberRsp,
  [CommandId.GROUP_CHANGE_MEMBER_NOTIFY]: im.IMGroupChangeMemberNotify,
  [CommandId.OTHER_HEARTBEAT]: im.IMHeartBeat,
  [CommandId.OTHER_STOP_RECV_PACKET]: im.IMStopReceivePacket,
  [CommandId.OTHER_ROLE_SET]: im.IMRoleSet,
} as const;

export type KnownCommand = keyof typeof bodyTypes;
/** The decoded body type of a command. */
export type BodyOf<C extends KnownCommand> = ReturnType<(typeof bodyTypes)[C]['decode']>;
/** What may be passed to encode a command's body. */
export type BodyInput<C extends KnownCommand> = Parameters<(typeof bodyTypes)[C]['encode']>[0];

export function isKnownCommand(commandId: number): commandId is KnownCommand {
  return Object.hasOwn(bodyTypes, commandId);
}

/** Encodes a command's body (no header). */
export function encodeBody<C extends KnownCommand>(commandId: C, body: BodyInput<C>): Uint8Array {
  return (bodyTypes[commandId] as unknown as Codec<BodyInput<C>>).encode(body).finish();
}

/** Encodes a whole PDU: header and body. */
export function encodePdu<C extends KnownCommand>(commandId: C, body: BodyInput<C>, seqNum = 0): Buffer {
  return encodeFrame({ commandId, seqNum }, encodeBody(commandId, body));
}

/**
 * Decodes a frame's body as its command's message. A body that does not parse (a required field
 * missing, bad wire types) throws a {@link ProtocolError} with code PDU_BODY_INVALID: like the real
 * servers, a receiver drops such a PDU.
 */
export function decodeBody<C extends KnownCommand>(commandId: C, body: Uint8Array): BodyOf<C> {
  try {
    return (bodyTypes[commandId] as unknown as Codec<BodyOf<C>>).decode(body);
  } catch (err) {
    throw new ProtocolError(
      'PDU_BODY_INVALID',
      `cannot parse body of command 0x${commandId.toString(16)}: ${(err as Error).message}`,
    );
  }
}

/** Decodes a frame whose command is `commandId`; the caller has already checked `frame.commandId`. */
export function decodeFrameBody<C extends KnownCommand>(frame: Frame, commandId: C): BodyOf<C> {
  return decodeBody(commandId, frame.body);
}
