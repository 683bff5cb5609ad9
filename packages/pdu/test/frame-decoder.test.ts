/**
 * The streaming frame decoder against the real servers' PDUs: fed whole, byte by byte, split at every
 * offset, glued together and cut at random (seeded), and against hostile length fields.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, ProtocolError, DEFAULT_MAX_PDU_LENGTH, type Frame } from '@ttpush/pdu';
import { pduVectors } from '@ttpush/testkit';
import { assertVectorFrame, vectorExpectations } from './helpers/vector-expectations.ts';
import { Prng } from './helpers/prng.ts';

const vectors = pduVectors();

function feed(decoder: FrameDecoder, chunks: Buffer[]): Frame[] {
  return chunks.flatMap((c) => decoder.push(c));
}

/** A header written by hand (big-endian, protocol notes §2), not by the encoder under test. */
function header(length: number, commandId = 0x0301, seq = 0): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(length, 0);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(commandId >>> 8, 8);
  h.writeUInt16BE(commandId, 10);
  h.writeUInt16BE(seq, 12);
  return h;
}

function assertProtocolError(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === code);
}

describe('FrameDecoder on the real servers’ PDUs', () => {
  it('has an expectation for every vector', () => {
    assert.ok(vectors.length >= 9);
    for (const v of vectors) assert.ok(vectorExpectations[v.name], `write an expectation for ${v.name}`);
  });

  for (const v of vectors) {
    describe(v.name, () => {
      it('decodes when fed whole', () => {
        const d = new FrameDecoder();
        const frames = d.push(v.bytes);
        assert.equal(frames.length, 1);
        assertVectorFrame(v.name, v.bytes, frames[0]);
        assert.equal(d.bufferedLength, 0);
      });

      it('decodes when fed byte by byte', () => {
        const d = new FrameDecoder();
        const chunks = [...v.bytes].map((b) => Buffer.from([b]));
        const frames: Frame[] = [];
        chunks.forEach((c, i) => {
          const got = d.push(c);
          if (i < chunks.length - 1) assert.equal(got.length, 0, `no frame before the last byte (byte ${i})`);
          frames.push(...got);
        });
        assert.equal(frames.length, 1);
        assertVectorFrame(v.name, v.bytes, frames[0]);
        assert.equal(d.bufferedLength, 0);
      });

      it('decodes when split at every offset', () => {
        for (let at = 1; at < v.bytes.length; at++) {
          const d = new FrameDecoder();
          assert.equal(d.push(v.bytes.subarray(0, at)).length, 0);
          assert.equal(d.bufferedLength, at);
          const frames = d.push(v.bytes.subarray(at));
          assert.equal(frames.length, 1, `split at ${at}`);
          assertVectorFrame(v.name, v.bytes, frames[0]);
        }
      });

      it('yields no frame for a truncated body, then the frame when the last byte comes', () => {
        const d = new FrameDecoder();
        assert.deepEqual(d.push(v.bytes.subarray(0, v.bytes.length - 1)), []);
        assert.equal(d.bufferedLength, v.bytes.length - 1);
        const frames = d.push(v.bytes.subarray(v.bytes.length - 1));
        assertVectorFrame(v.name, v.bytes, frames[0]);
      });
    });
  }

  it('decodes every vector glued into one buffer, in order', () => {
    const all = Buffer.concat(vectors.map((v) => v.bytes));
    const frames = new FrameDecoder().push(all);
    assert.equal(frames.length, vectors.length);
    vectors.forEach((v, i) => assertVectorFrame(v.name, v.bytes, frames[i]));
  });

  it('decodes the glued vectors under 200 seeded random chunkings', () => {
    const all = Buffer.concat(vectors.map((v) => v.bytes));
    for (let seed = 1; seed <= 200; seed++) {
      const rng = new Prng(seed);
      const d = new FrameDecoder();
      const frames = feed(d, rng.chunks(all, rng.int(1, 64)));
      assert.equal(frames.length, vectors.length, `seed ${seed}`);
      vectors.forEach((v, i) => assertVectorFrame(v.name, v.bytes, frames[i]));
      assert.equal(d.bufferedLength, 0, `seed ${seed}`);
    }
  });

  it('decodes a long random sequence of vectors under random chunking', () => {
    const rng = new Prng(0xc0ffee);
    const picks = Array.from({ length: 500 }, () => vectors[rng.int(0, vectors.length - 1)]!);
    const frames = feed(new FrameDecoder(), rng.chunks(Buffer.concat(picks.map((p) => p.bytes)), 300));
    assert.equal(frames.length, picks.length);
    picks.forEach((p, i) => assertVectorFrame(p.name, p.bytes, frames[i]));
  });

  it('accepts a Uint8Array that is not a Buffer', () => {
    const v = vectors[0]!;
    const copy = new Uint8Array(v.bytes.length + 4);
    copy.set(v.bytes, 2);
    const d = new FrameDecoder();
    const frames = [...d.push(copy.subarray(2, 10)), ...d.push(copy.subarray(10, 2 + v.bytes.length))];
    assertVectorFrame(v.name, v.bytes, frames[0]);
  });

  it('decodes a frame with an empty body (length exactly 16)', () => {
    const frames = new FrameDecoder().push(header(16, 0x0701));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.commandId, 0x0701);
    assert.equal(frames[0]!.body.length, 0);
  });

  it('passes unknown commands through as frames (the body is not interpreted)', () => {
    // 0x0215 BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY: route_server relays it; we have no body type for it.
    const body = Buffer.from([0xff, 0xfe, 0xfd]);
    const frames = new FrameDecoder().push(Buffer.concat([header(19, 0x0215, 5), body]));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.commandId, 0x0215);
    assert.equal(frames[0]!.serviceId, 0x0002);
    assert.equal(frames[0]!.seqNum, 5);
    assert.deepEqual(frames[0]!.body, body);
  });
});

describe('FrameDecoder on hostile length fields', () => {
  it('rejects a length of 0 (the C++ servers throw on it) and stays poisoned', () => {
    const d = new FrameDecoder();
    assertProtocolError(() => d.push(header(0)), 'PDU_LENGTH_TOO_SMALL');
    assertProtocolError(() => d.push(vectors[0]!.bytes), 'PDU_LENGTH_TOO_SMALL');
  });

  it('rejects a length of 15, under the header', () => {
    assertProtocolError(() => new FrameDecoder().push(header(15)), 'PDU_LENGTH_TOO_SMALL');
  });

  it('rejects a length over the configured maximum, and accepts the maximum itself', () => {
    assertProtocolError(() => new FrameDecoder({ maxPduLength: 64 }).push(header(65)), 'PDU_LENGTH_TOO_LARGE');
    const d = new FrameDecoder({ maxPduLength: 64 });
    assert.deepEqual(d.push(header(64)), []);
    const frames = d.push(Buffer.alloc(48, 0xaa));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.body.length, 48);
  });

  it('defaults the maximum to DEFAULT_MAX_PDU_LENGTH', () => {
    assert.equal(new FrameDecoder().maxPduLength, DEFAULT_MAX_PDU_LENGTH);
    assertProtocolError(() => new FrameDecoder().push(header(DEFAULT_MAX_PDU_LENGTH + 1)), 'PDU_LENGTH_TOO_LARGE');
  });

  it('refuses a maxPduLength under the header length', () => {
    assert.throws(() => new FrameDecoder({ maxPduLength: 15 }), RangeError);
  });

  it('throws at once on a header claiming 4 GB, without buffering towards it', () => {
    const d = new FrameDecoder();
    assertProtocolError(() => d.push(Buffer.from('ffffffff', 'hex')), 'PDU_LENGTH_TOO_LARGE');
    assert.ok(d.bufferedLength <= 4, `bufferedLength ${d.bufferedLength}`);
  });

  it('throws on a 4 GB length that arrives split, as soon as its 4 bytes are in', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(Buffer.from('ffff', 'hex')), []);
    assert.equal(d.bufferedLength, 2);
    assertProtocolError(() => d.push(Buffer.from('ffff0001', 'hex')), 'PDU_LENGTH_TOO_LARGE');
    assert.ok(d.bufferedLength <= 6, `bufferedLength ${d.bufferedLength}`);
  });

  it('throws on a 4 GB length that follows a good frame in the same chunk', () => {
    const d = new FrameDecoder();
    assertProtocolError(() => d.push(Buffer.concat([vectors[0]!.bytes, header(0xffffffff)])), 'PDU_LENGTH_TOO_LARGE');
    assert.ok(d.bufferedLength < 64, `bufferedLength ${d.bufferedLength}`);
  });

  it('keeps only the bytes that arrived for a large claimed length (never the claimed size)', () => {
    const d = new FrameDecoder({ maxPduLength: 1024 * 1024 });
    assert.deepEqual(d.push(header(1024 * 1024)), []);
    assert.equal(d.bufferedLength, 16);
    assert.deepEqual(d.push(Buffer.alloc(100)), []);
    assert.equal(d.bufferedLength, 116);
  });

  it('can be reset for a new connection after a fault', () => {
    const d = new FrameDecoder();
    assertProtocolError(() => d.push(header(3)), 'PDU_LENGTH_TOO_SMALL');
    d.reset();
    assert.equal(d.bufferedLength, 0);
    assert.equal(d.push(vectors[0]!.bytes).length, 1);
  });
});
