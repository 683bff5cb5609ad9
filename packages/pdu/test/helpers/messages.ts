/** Request bodies for the connection and pool tests: `i` makes each one recognisable in its reply. */
export function msgData(i: number) {
  return {
    fromUserId: 1000 + i,
    toSessionId: 2000 + i,
    msgId: 0,
    createTime: 1764288000 + i,
    msgType: 1,
    msgData: Buffer.from(`text ${i}`),
  };
}
