/**
 * The exact bytes of a received PDU, for servers that relay frames unchanged (route_server,
 * msg_server pushing what route_server forwarded): version, flag and reserved are kept as sent.
 */
import { HEADER_LENGTH, type Frame } from '@ttpush/pdu';

/**
 * The decoder hands out the body as a view just past its header in the same received buffer; the
 * header is taken from there when it is intact, and rebuilt field by field otherwise.
 */
export function rawPdu(frame: Frame): Buffer {
  const { body } = frame;
  const length = HEADER_LENGTH + body.length;
  if (body.byteOffset >= HEADER_LENGTH) {
    const whole = Buffer.from(body.buffer, body.byteOffset - HEADER_LENGTH, length);
    if (
      whole.readUInt32BE(0) === length &&
      whole.readUInt16BE(10) === frame.commandId &&
      whole.readUInt16BE(12) === frame.seqNum
    ) {
      return whole;
    }
  }
  const out = Buffer.allocUnsafe(length);
  out.writeUInt32BE(length, 0);
  out.writeUInt16BE(frame.version, 4);
  out.writeUInt16BE(frame.flag, 6);
  out.writeUInt16BE(frame.serviceId, 8);
  out.writeUInt16BE(frame.commandId, 10);
  out.writeUInt16BE(frame.seqNum, 12);
  out.writeUInt16BE(frame.reserved, 14);
  out.set(body, HEADER_LENGTH);
  return out;
}
