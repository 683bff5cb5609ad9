/**
 * The sandbox's database: conversations (user pairs and groups) with their msg_id counters and
 * rows, and groups with their members. In memory; db-proxy-server.ts is its only writer over the
 * wire, tests read it back through the methods below.
 */
import { im } from '@ttpush/pdu';

/** A message row as the real `IMMessage_x` / `IMGroupMessage_x` tables hold it. */
export interface StoredMessage {
  readonly msgId: number;
  readonly from: number;
  /** The other user (single) or the group id (group). */
  readonly to: number;
  /** As the request gave it: db_proxy never rewrites it. */
  readonly createTime: number;
  readonly msgType: number;
  /** The stored text exactly as given (base64 of the TeamTalk cipher, normally). */
  readonly msgData: string;
  readonly sessionType: 'single' | 'group';
  /**
   * true for a row written under a duplicate user-pair relation (notes §10: two concurrent first
   * messages of a pair). The real server never reads such a row back; `singleMessages()` omits it.
   */
  readonly orphaned: boolean;
}

export interface GroupRecord {
  readonly id: number;
  readonly name: string;
  readonly avatar: string;
  readonly type: number;
  readonly creator: number;
  /** Members in the order they joined. */
  readonly members: number[];
  readonly version: number;
}

export interface CreateGroupInput {
  /** A fixed id (seeding); default: the next row id. */
  id?: number;
  name?: string;
  avatar?: string;
  /** GroupType: NORMAL 1 (default) or TMP 2. */
  type?: number;
  /** Default: the first member. */
  creator?: number;
  members: readonly number[];
}

/** One written row. The text is kept as the received bytes and turned into a string only when read. */
class Row {
  constructor(
    readonly seq: number,
    readonly msgId: number,
    readonly from: number,
    readonly to: number,
    readonly createTime: number,
    readonly msgType: number,
    readonly data: Uint8Array,
  ) {}
}

/** A user-pair relation or a group: one msg_id counter, its rows. */
export class Conversation {
  lastMsgId = 0;
  /** Highest msg_id whose row was actually written (what MSG_GET_LATEST_MSG_ID answers). */
  latestWritten = 0;
  readonly rows: Row[] = [];
  /** Rows written under duplicate relations of this pair (single only). */
  orphans: Row[] | undefined;
  /** Set while the relation was created in the current processing batch (the race window). */
  createdInBatch = false;
  raced = false;
}

class Group {
  version = 1;
  readonly members: Set<number>;
  constructor(
    readonly id: number,
    public name: string,
    public avatar: string,
    readonly type: number,
    readonly creator: number,
    members: Iterable<number>,
  ) {
    this.members = new Set(members);
  }
}

export interface MessageQuery {
  /** msg_id_begin: 0 means the newest. */
  msgIdBegin: number;
  msgCnt: number;
}

export class SandboxStore {
  private readonly pairs = new Map<number, Map<number, Conversation>>();
  private readonly groupConversations = new Map<number, Conversation>();
  private readonly groupsById = new Map<number, Group>();
  private readonly newRelations: Conversation[] = [];
  private nextGroupId = 1;
  private rowSeq = 0;
  private written = 0;
  /** Whether a pair's first two messages handled in one batch create the relation twice (notes §10). */
  relationRace = true;
  /** Relations created twice so far. */
  duplicateRelations = 0;

  // ---- read API for tests ----------------------------------------------------------------

  /** Messages of the user pair (either order), as MSG_LIST reads them, in msg_id order. */
  singleMessages(a: number, b: number): StoredMessage[] {
    const conv = this.pair(a, b, false);
    return conv ? conv.rows.map((r) => view(r, 'single', false)) : [];
  }

  groupMessages(groupId: number): StoredMessage[] {
    const conv = this.groupConversations.get(groupId);
    return conv ? conv.rows.map((r) => view(r, 'group', false)) : [];
  }

  /** Every row written, orphaned ones included, in the order they were written. */
  allMessages(): StoredMessage[] {
    const out: { seq: number; m: StoredMessage }[] = [];
    for (const inner of this.pairs.values()) {
      for (const conv of inner.values()) {
        for (const r of conv.rows) out.push({ seq: r.seq, m: view(r, 'single', false) });
        for (const r of conv.orphans ?? []) out.push({ seq: r.seq, m: view(r, 'single', true) });
      }
    }
    for (const conv of this.groupConversations.values()) {
      for (const r of conv.rows) out.push({ seq: r.seq, m: view(r, 'group', false) });
    }
    return out.sort((x, y) => x.seq - y.seq).map((x) => x.m);
  }

  /** Rows written (orphaned ones included). */
  count(): number {
    return this.written;
  }

  groups(): GroupRecord[] {
    return [...this.groupsById.values()].sort((a, b) => a.id - b.id).map(groupView);
  }

  group(id: number): GroupRecord | undefined {
    const g = this.groupsById.get(id);
    return g ? groupView(g) : undefined;
  }

  /** Creates a group directly (seeding). Members are deduplicated and kept in the given order. */
  createGroup(input: CreateGroupInput): GroupRecord {
    const id = input.id ?? this.nextGroupId;
    if (!Number.isInteger(id) || id <= 0 || id > 0xffffffff) throw new RangeError(`bad group id ${id}`);
    if (this.groupsById.has(id)) throw new RangeError(`group ${id} exists`);
    const type = input.type ?? im.GroupType.GROUP_TYPE_NORMAL;
    const g = new Group(
      id,
      input.name ?? `group${id}`,
      input.avatar ?? '',
      type,
      input.creator ?? input.members[0] ?? 0,
      input.members,
    );
    this.groupsById.set(id, g);
    this.nextGroupId = Math.max(this.nextGroupId, id + 1);
    return groupView(g);
  }

  // ---- db_proxy side -----------------------------------------------------------------------

  /** The pair's relation (notes §6: one counter for both directions), created on demand. */
  pair(a: number, b: number, create: true): Conversation;
  pair(a: number, b: number, create: boolean): Conversation | undefined;
  pair(a: number, b: number, create: boolean): Conversation | undefined {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    let inner = this.pairs.get(lo);
    if (!inner) {
      if (!create) return undefined;
      inner = new Map();
      this.pairs.set(lo, inner);
    }
    let conv = inner.get(hi);
    if (!conv && create) {
      conv = new Conversation();
      conv.createdInBatch = true;
      this.newRelations.push(conv);
      inner.set(hi, conv);
    }
    return conv;
  }

  groupConversation(groupId: number): Conversation {
    let conv = this.groupConversations.get(groupId);
    if (!conv) {
      conv = new Conversation();
      this.groupConversations.set(groupId, conv);
    }
    return conv;
  }

  /** Reads a group conversation without creating it. */
  findGroupConversation(groupId: number): Conversation | undefined {
    return this.groupConversations.get(groupId);
  }

  /**
   * Allocates the next msg_id of a single conversation and writes the row unless `write` is false
   * (the text did not fit the column: the id is spent, the row is missing, notes §6/§10).
   * The pair's second message in the batch that created the relation lands under a duplicate
   * relation: it gets msg_id 1 too and is never read back (notes §10).
   */
  storeSingle(from: number, to: number, createTime: number, msgType: number, data: Uint8Array, write: boolean): number {
    const conv = this.pair(from, to, true);
    if (this.relationRace && conv.createdInBatch && conv.lastMsgId > 0 && !conv.raced) {
      conv.raced = true;
      this.duplicateRelations++;
      if (write) {
        const row = new Row(++this.rowSeq, 1, from, to, createTime, msgType, data);
        (conv.orphans ??= []).push(row);
        this.written++;
      }
      return 1;
    }
    return this.append(conv, from, to, createTime, msgType, data, write);
  }

  storeGroup(
    from: number,
    groupId: number,
    createTime: number,
    msgType: number,
    data: Uint8Array,
    write: boolean,
  ): number {
    return this.append(this.groupConversation(groupId), from, groupId, createTime, msgType, data, write);
  }

  /** Ends the race window of relations created since the last call (one processing batch). */
  endBatch(): void {
    if (this.newRelations.length === 0) return;
    for (const c of this.newRelations) c.createdInBatch = false;
    this.newRelations.length = 0;
  }

  /** MSG_LIST semantics (notes §6): msg_id ≤ begin (0 = newest), create_time desc then insertion desc. */
  listMessages(conv: Conversation | undefined, q: MessageQuery): im.MsgInfo.$Properties[] {
    if (!conv || q.msgCnt === 0) return [];
    const rows = q.msgIdBegin === 0 ? conv.rows.slice() : conv.rows.filter((r) => r.msgId <= q.msgIdBegin);
    rows.sort((x, y) => y.createTime - x.createTime || y.seq - x.seq);
    return rows.slice(0, q.msgCnt).map((r) => ({
      msgId: r.msgId,
      fromSessionId: r.from,
      createTime: r.createTime,
      msgType: r.msgType,
      msgData: r.data,
    }));
  }

  findGroup(id: number): Group | undefined {
    return this.groupsById.get(id);
  }

  /** GROUP_CREATE over the wire: the group id is the next row id. */
  insertGroup(name: string, avatar: string, type: number, creator: number, members: Iterable<number>): Group {
    const g = new Group(this.nextGroupId++, name, avatar, type, creator, members);
    this.groupsById.set(g.id, g);
    return g;
  }

  private append(
    conv: Conversation,
    from: number,
    to: number,
    createTime: number,
    msgType: number,
    data: Uint8Array,
    write: boolean,
  ): number {
    const msgId = ++conv.lastMsgId;
    if (write) {
      conv.rows.push(new Row(++this.rowSeq, msgId, from, to, createTime, msgType, data));
      conv.latestWritten = msgId;
      this.written++;
    }
    return msgId;
  }
}

export type { Group };

function view(r: Row, sessionType: 'single' | 'group', orphaned: boolean): StoredMessage {
  return {
    msgId: r.msgId,
    from: r.from,
    to: r.to,
    createTime: r.createTime,
    msgType: r.msgType,
    msgData: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.length).toString('utf8'),
    sessionType,
    orphaned,
  };
}

function groupView(g: Group): GroupRecord {
  return {
    id: g.id,
    name: g.name,
    avatar: g.avatar,
    type: g.type,
    creator: g.creator,
    members: [...g.members],
    version: g.version,
  };
}
