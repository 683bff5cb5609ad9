/**
 * Group administration (issue 6): synchronous GROUP_CREATE and GROUP_CHANGE_MEMBER requests to
 * db_proxy_server over the api's own small pools (one db_proxy connection per server, a route_server
 * pool), started on first use and closed on shutdown. No queue: the caller waits for TeamTalk's answer.
 *
 * db_proxy_server (notes §6) answers a refusal with result_code ≠ 0 and drops, without a reply, a
 * change to an unknown group or a body it cannot parse: the request then times out (REQUEST_TIMEOUT).
 */
import type { Logger } from 'pino';
import type { Config } from '@ttpush/config';
import { CommandId, ConnectionError, DbProxyPool, RoutePool } from '@ttpush/pdu';

export type GroupType = 'normal' | 'tmp';
export type ChangeType = 'add' | 'del';

/** Wire values (notes §4): GroupType NORMAL=1, TMP=2; GroupModifyType ADD=1, DEL=2. */
const GROUP_TYPE = { normal: 1, tmp: 2 } as const;
const CHANGE_TYPE = { add: 1, del: 2 } as const;

export interface CreateGroupInput {
  creator: number;
  name: string;
  type: GroupType;
  avatar: string;
  members: readonly number[];
}

export interface CreatedGroup {
  groupId: number;
  name: string;
  members: number[];
}

export interface ChangeMembersInput {
  /** The acting user; 0 is an administrator. */
  user: number;
  groupId: number;
  change: ChangeType;
  members: readonly number[];
}

export interface ChangedMembers {
  groupId: number;
  /** The members after the change. */
  members: number[];
  /** The ids asked for. */
  changed: number[];
}

/**
 * Why a group operation failed: `refused` (result_code ≠ 0), `no_reply` (db_proxy dropped it: an unknown
 * group), `unavailable` (no db_proxy_server connection, or it closed with the request in flight).
 */
export type GroupErrorCode = 'refused' | 'no_reply' | 'unavailable';

export class GroupError extends Error {
  override readonly name = 'GroupError';
  constructor(
    readonly code: GroupErrorCode,
    message: string,
    readonly resultCode?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface GroupAdmin {
  create(input: CreateGroupInput): Promise<CreatedGroup>;
  changeMembers(input: ChangeMembersInput): Promise<ChangedMembers>;
  close(): Promise<void>;
}

/** The GroupAdmin of an api with no TeamTalk configured: every call fails `unavailable`. */
export const noTeamTalkGroups: GroupAdmin = {
  create: () => Promise.reject(new GroupError('unavailable', 'no db_proxy_server is configured')),
  changeMembers: () => Promise.reject(new GroupError('unavailable', 'no db_proxy_server is configured')),
  close: () => Promise.resolve(),
};

/** The ConnectionError codes that mean "no reply came": db_proxy_server dropped the request. */
function toGroupError(err: unknown): GroupError {
  if (err instanceof GroupError) return err;
  if (err instanceof ConnectionError) {
    if (err.code === 'REQUEST_TIMEOUT') {
      return new GroupError('no_reply', 'db_proxy_server did not answer', undefined, { cause: err });
    }
    return new GroupError('unavailable', `db_proxy_server unavailable (${err.code})`, undefined, { cause: err });
  }
  return new GroupError('unavailable', 'db_proxy_server unavailable', undefined, { cause: err });
}

export class TeamTalkGroups implements GroupAdmin {
  private readonly db: DbProxyPool;
  private readonly route: RoutePool;
  private readonly connectTimeoutMs: number;
  private started: Promise<void> | undefined;

  constructor(
    config: Pick<Config, 'dbProxyAddrs' | 'routeAddrs' | 'teamtalk'>,
    private readonly logger: Logger,
  ) {
    const common = {
      requestTimeoutMs: config.teamtalk.replyTimeoutMs,
      connectTimeoutMs: config.teamtalk.connectTimeoutMs,
    };
    this.connectTimeoutMs = config.teamtalk.connectTimeoutMs;
    this.db = new DbProxyPool({
      addresses: config.dbProxyAddrs,
      connectionsPerServer: 1,
      ...common,
      logger: logger.child({ pool: 'groups_db_proxy' }),
    });
    this.route = new RoutePool({
      addresses: config.routeAddrs,
      ...common,
      logger: logger.child({ pool: 'groups_route' }),
    });
  }

  /** Connects both pools once; a failed first attempt is not fatal (connections keep retrying). */
  private start(): Promise<void> {
    this.started ??= Promise.allSettled([this.db.start(), this.route.start()]).then(() => {});
    return this.started;
  }

  async create(input: CreateGroupInput): Promise<CreatedGroup> {
    await this.start();
    let rsp;
    try {
      rsp = await this.db.request(
        CommandId.GROUP_CREATE_REQUEST,
        {
          userId: input.creator,
          groupType: GROUP_TYPE[input.type],
          groupName: input.name,
          groupAvatar: input.avatar,
          memberIdList: [...input.members],
        },
        { responseCommand: CommandId.GROUP_CREATE_RESPONSE },
      );
    } catch (err) {
      throw toGroupError(err);
    }
    if (rsp.resultCode !== 0 || !rsp.groupId) {
      throw new GroupError(
        'refused',
        `db_proxy_server refused the group (result_code ${rsp.resultCode})`,
        rsp.resultCode,
      );
    }
    return { groupId: rsp.groupId, name: rsp.groupName, members: [...rsp.userIdList] };
  }

  async changeMembers(input: ChangeMembersInput): Promise<ChangedMembers> {
    await this.start();
    const changeType = CHANGE_TYPE[input.change];
    let rsp;
    try {
      rsp = await this.db.request(
        CommandId.GROUP_CHANGE_MEMBER_REQUEST,
        { userId: input.user, changeType, groupId: input.groupId, memberIdList: [...input.members] },
        { responseCommand: CommandId.GROUP_CHANGE_MEMBER_RESPONSE },
      );
    } catch (err) {
      throw toGroupError(err);
    }
    if (rsp.resultCode !== 0) {
      throw new GroupError(
        'refused',
        `db_proxy_server refused the change (result_code ${rsp.resultCode})`,
        rsp.resultCode,
      );
    }
    const result = { groupId: rsp.groupId, members: [...rsp.curUserIdList], changed: [...rsp.chgUserIdList] };
    await this.notify(input.user, changeType, result);
    return result;
  }

  /**
   * Tells the msg_servers through route_server (as the stock msg_server does after a change). The change is
   * already stored, so a route_server that cannot be reached is logged, not reported as a failed change.
   */
  private async notify(user: number, changeType: number, result: ChangedMembers): Promise<void> {
    try {
      if (!this.route.ready) await this.route.waitReady(this.connectTimeoutMs);
      this.route.forward(CommandId.GROUP_CHANGE_MEMBER_NOTIFY, {
        userId: user,
        changeType,
        groupId: result.groupId,
        curUserIdList: result.members,
        chgUserIdList: result.changed,
      });
    } catch (err) {
      this.logger.warn(
        { group: result.groupId, err: err instanceof Error ? err.message : String(err) },
        'group change stored but its notify could not be forwarded to route_server',
      );
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.db.close(), this.route.close()]);
  }
}
