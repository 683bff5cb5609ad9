/**
 * A minimal TeamTalk client for tests, built on our codec: connect, send PDUs, wait for the
 * frames the server answers.
 */
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { CommandId, FrameDecoder, decodeBody, encodePdu, im } from '@ttpush/pdu';
import { FrameInbox } from './frame-inbox.ts';

export class RawClient {
  readonly inbox = new FrameInbox();

  private constructor(private readonly socket: Socket) {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) this.inbox.add(frame);
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Logs in as a stock client would and returns the login reply. */
  async login(userName: string, password: string): Promise<im.IMLoginRes> {
    this.write(
      encodePdu(CommandId.LOGIN_REQ_USERLOGIN, {
        userName,
        password: createHash('md5').update(password).digest('hex'),
        onlineStatus: im.UserStatType.USER_STATUS_ONLINE,
        clientType: im.ClientType.CLIENT_TYPE_WINDOWS,
        clientVersion: 'ttpush-test',
      }),
    );
    const frame = await this.inbox.next(CommandId.LOGIN_RES_USERLOGIN);
    return decodeBody(CommandId.LOGIN_RES_USERLOGIN, frame.body);
  }

  close(): void {
    this.inbox.clear();
    this.socket.destroy();
  }
}
