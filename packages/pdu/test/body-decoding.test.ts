/**
 * Body decoding of hostile input: garbage bodies for the commands we speak, and a bounded seeded fuzz
 * loop over the whole decode path (framing, then protobuf) where nothing but ProtocolError may escape.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, FrameDecoder, ProtocolError, bodyTypes, decodeBody, isKnownCommand } from '@ttpush/pdu';
import { pduVectors } from '@ttpush/testkit';
import { Prng } from './helpers/prng.ts';

const vectors = pduVectors();

function isBodyInvalid(err: unknown): boolean {
  return err instanceof ProtocolError && err.code === 'PDU_BODY_INVALID';
}

describe('decodeBody on garbage', () => {
  it('refuses an IMMsgData that lacks its required fields (the real servers drop it)', () => {
    assert.throws(() => decodeBody(CommandId.MSG_DATA, new Uint8Array(0)), isBodyInvalid);
    // Only from_user_id (field 1 = 7).
    assert.throws(() => decodeBody(CommandId.MSG_DATA, Buffer.from([0x08, 0x07])), isBodyInvalid);
  });

  it('refuses a body cut anywhere except at the optional attach_data', () => {
    const body = pduVectors()
      .find((v) => v.name === 'msg_data_stored')!
      .bytes.subarray(16);
    // Field 20 (attach_data), wire type 2: tag bytes a2 01, then length 9.
    const attachAt = body.indexOf(Buffer.from([0xa2, 0x01, 0x09]));
    assert.ok(attachAt > 0);
    for (let cut = 1; cut < body.length; cut++) {
      if (cut === attachAt) continue;
      assert.throws(() => decodeBody(CommandId.MSG_DATA, body.subarray(0, cut)), isBodyInvalid, `cut at ${cut}`);
    }
    const withoutAttach = decodeBody(CommandId.MSG_DATA, body.subarray(0, attachAt));
    assert.equal(withoutAttach.msgId, 1);
    assert.equal((withoutAttach.attachData ?? []).length, 0);
  });

  it('refuses a length-delimited field claiming more bytes than there are', () => {
    // Field 6 (msg_data), wire type 2, length 0x7fffffff.
    assert.throws(
      () => decodeBody(CommandId.MSG_DATA, Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x07])),
      isBodyInvalid,
    );
  });

  it('refuses an invalid wire type', () => {
    assert.throws(() => decodeBody(CommandId.OTHER_ROLE_SET, Buffer.from([0x0f, 0x01])), isBodyInvalid);
  });

  it('knows which commands it may decode', () => {
    assert.ok(isKnownCommand(0x0301));
    assert.ok(!isKnownCommand(0x0215));
    assert.ok(!isKnownCommand(0x0000));
    assert.ok(!isKnownCommand(Number('toString')));
  });
});

describe('decode path fuzzing (seeded, bounded)', () => {
  const known = Object.keys(bodyTypes).map(Number);

  /** Runs bytes through a fresh decoder in random chunks and decodes every known body. */
  function decodeAll(rng: Prng, bytes: Buffer, maxPduLength: number): { frames: number; errors: number } {
    const d = new FrameDecoder({ maxPduLength });
    let frames = 0;
    let errors = 0;
    for (const chunk of rng.chunks(bytes, rng.int(1, 80))) {
      let got;
      try {
        got = d.push(chunk);
      } catch (err) {
        assert.ok(err instanceof ProtocolError, `decoder threw ${String(err)}`);
        errors++;
        break;
      }
      for (const f of got) {
        frames++;
        assert.ok(f.body.length <= maxPduLength - 16);
        if (!isKnownCommand(f.commandId)) continue;
        try {
          decodeBody(f.commandId, f.body);
        } catch (err) {
          assert.ok(isBodyInvalid(err), `decodeBody threw ${String(err)}`);
          errors++;
        }
      }
    }
    return { frames, errors };
  }

  it('throws only ProtocolError on 3000 random buffers', () => {
    const rng = new Prng(20261128);
    let frames = 0;
    for (let i = 0; i < 3000; i++) {
      const buf = rng.bytes(rng.int(0, 200));
      // Half of them get a plausible header so the protobuf stage sees random bodies too.
      if (i % 2 === 0 && buf.length >= 16) {
        buf.writeUInt32BE(rng.int(16, buf.length), 0);
        buf.writeUInt16BE(known[rng.int(0, known.length - 1)]!, 10);
      }
      frames += decodeAll(rng, buf, rng.int(16, 4096)).frames;
    }
    assert.ok(frames > 300, `the fuzz reached the body decoder (${frames} frames)`);
  });

  it('throws only ProtocolError on 3000 mutations of the real PDUs', () => {
    const rng = new Prng(7);
    let bodyErrors = 0;
    for (let i = 0; i < 3000; i++) {
      const v = vectors[rng.int(0, vectors.length - 1)]!;
      const buf = Buffer.from(v.bytes);
      const kind = rng.int(0, 3);
      if (kind === 0) {
        // Flip a few body bytes, keep the header.
        for (let n = rng.int(1, 4); n > 0 && buf.length > 16; n--) buf[rng.int(16, buf.length - 1)] = rng.int(0, 255);
      } else if (kind === 1) {
        // Flip any byte, the header included.
        buf[rng.int(0, buf.length - 1)] = rng.int(0, 255);
      } else if (kind === 2) {
        // Shrink the body but keep the length field honest.
        const cut = rng.int(16, buf.length);
        buf.writeUInt32BE(cut, 0);
        bodyErrors += decodeAll(rng, buf.subarray(0, cut), 4096).errors;
        continue;
      } else {
        // Swap the command for another one we know.
        buf.writeUInt16BE(known[rng.int(0, known.length - 1)]!, 10);
      }
      bodyErrors += decodeAll(rng, buf, 4096).errors;
    }
    assert.ok(bodyErrors > 100, `mutations were refused (${bodyErrors} errors)`);
  });
});
