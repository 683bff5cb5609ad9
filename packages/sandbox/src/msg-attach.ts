/**
 * msg_server's own attach_data (opaque to db_proxy, which echoes it): which client connection a
 * request came from, and for a group message the PDU to push once the members are known
 * (like the C++ CDbAttachData / CPduAttachData: the state travels with the request).
 *
 * | 0 type (u32 BE) | 4 connection handle (u32 BE) | 8 PDU (type 2 only) |
 */

export const ATTACH_HANDLE = 1;
export const ATTACH_HANDLE_AND_PDU = 2;

export interface MsgAttach {
  type: number;
  handle: number;
  /** The whole PDU to push (type 2). */
  pdu: Buffer;
}

export function encodeAttach(type: number, handle: number, pdu?: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(8 + (pdu?.length ?? 0));
  out.writeUInt32BE(type, 0);
  out.writeUInt32BE(handle >>> 0, 4);
  if (pdu) out.set(pdu, 8);
  return out;
}

export function decodeAttach(bytes: Uint8Array | null | undefined): MsgAttach | undefined {
  if (!bytes || bytes.length < 8) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const type = buf.readUInt32BE(0);
  if (type !== ATTACH_HANDLE && type !== ATTACH_HANDLE_AND_PDU) return undefined;
  return { type, handle: buf.readUInt32BE(4), pdu: buf.subarray(8) };
}
