/**
 * One short-lived TCP connection to a TeamTalk server (db_proxy_server or route_server) for the doctor:
 * connect within a deadline, write PDUs, and wait for a frame that matches, within a deadline. Nothing
 * reconnects, nothing waits without a bound: a dead address must not hang the doctor. The only doctor
 * module that touches a socket.
 */
import { ConnectionError, FrameSocket, ProtocolError, type Frame } from '@ttpush/pdu';

export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  constructor(
    readonly code:
      'PROBE_CONNECT_FAILED' | 'PROBE_CONNECT_TIMEOUT' | 'PROBE_TIMEOUT' | 'PROBE_CLOSED' | 'PROBE_BAD_FRAME',
    message: string,
  ) {
    super(message);
  }
}

/** Frames kept while nobody waits for them (a reply may come before its waiter is set). */
const KEPT_FRAMES = 100;

export class ServerProbe {
  private constructor(private readonly frames: FrameSocket) {}

  /** Connects, or rejects with PROBE_CONNECT_FAILED / PROBE_CONNECT_TIMEOUT within `timeoutMs`. */
  static async open(host: string, port: number, timeoutMs: number): Promise<ServerProbe> {
    try {
      return new ServerProbe(await FrameSocket.connect(host, port, timeoutMs, { keep: KEPT_FRAMES }));
    } catch (err) {
      if (err instanceof ConnectionError) throw new ProbeError('PROBE_CONNECT_TIMEOUT', err.message);
      const e = err as NodeJS.ErrnoException;
      throw new ProbeError('PROBE_CONNECT_FAILED', e.code ? `${e.code} (${e.message})` : e.message);
    }
  }

  write(pdu: Buffer): void {
    this.frames.write(pdu);
  }

  /** The first frame (already received, or to come) that `match` accepts, within `timeoutMs`. */
  async waitFor(match: (frame: Frame) => boolean, timeoutMs: number, what: string): Promise<Frame> {
    try {
      return await this.frames.next(
        match,
        timeoutMs,
        () => new ProbeError('PROBE_TIMEOUT', `no ${what} within ${(timeoutMs / 1000).toFixed(1)} s`),
      );
    } catch (err) {
      throw probeError(err as Error);
    }
  }

  close(): void {
    void this.frames.close(new ProbeError('PROBE_CLOSED', 'closed by the doctor'));
  }
}

function probeError(err: Error): ProbeError {
  if (err instanceof ProbeError) return err;
  if (err instanceof ProtocolError) {
    return new ProbeError('PROBE_BAD_FRAME', `the server sent bytes that are no TeamTalk PDU: ${err.message}`);
  }
  if (err instanceof ConnectionError) return new ProbeError('PROBE_CLOSED', 'the server closed the connection');
  return new ProbeError('PROBE_CLOSED', `connection lost: ${err.message}`);
}
