/**
 * A fake msg_server for the listen tests: speaks the real framing through our codec, answers every
 * IMLoginReq with the reply the test chooses (by default the real server's login_ok PDU from the
 * shared vectors) and lets the test push raw PDUs to the logged-in clients.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { CommandId, FrameDecoder } from '@ttpush/pdu';
import { pduVector } from '@ttpush/testkit';
import { FrameInbox } from './frame-inbox.ts';

export interface FakeMsgServerOptions {
  /** Whole PDU bytes answering a login; default: the real msg_server's login_ok for user 2. */
  readonly loginReply?: Buffer;
}

export class FakeMsgServer {
  /** Every frame any client sent, in order. */
  readonly inbox = new FrameInbox();
  private readonly sockets = new Set<Socket>();
  private loggedIn: Socket[] = [];

  private constructor(
    private readonly server: Server,
    private readonly options: FakeMsgServerOptions,
  ) {}

  static async start(options: FakeMsgServerOptions = {}): Promise<FakeMsgServer> {
    const server = createServer();
    const fake = new FakeMsgServer(server, options);
    server.on('connection', (socket) => fake.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('fake msg_server is not listening');
    return address.port;
  }

  /** Writes raw bytes to every logged-in client. */
  push(bytes: Buffer): void {
    for (const socket of this.loggedIn) socket.write(bytes);
  }

  /** Closes every client connection, as a server going away would. */
  dropClients(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.inbox.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.dropClients();
    await closed;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.loggedIn = this.loggedIn.filter((s) => s !== socket);
    });
    socket.on('error', () => {});
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        this.inbox.add(frame);
        if (frame.commandId === CommandId.LOGIN_REQ_USERLOGIN) {
          this.loggedIn.push(socket);
          socket.write(this.options.loginReply ?? pduVector('login_ok').bytes);
        }
      }
    });
  }
}
