/**
 * The sandbox's user directory: any user id exists, the login name is the decimal id, any
 * password is accepted. UserInfo fields follow the real login answer (the login_ok vector).
 */
import type { im } from '@ttpush/pdu';

const DECIMAL = /^[0-9]{1,10}$/;

/** The user id a login name stands for, or undefined (not decimal, 0, or over uint32). */
export function userIdFromLoginName(name: string): number | undefined {
  if (!DECIMAL.test(name)) return undefined;
  const id = Number(name);
  return id > 0 && id <= 0xffffffff ? id : undefined;
}

export function userInfoFor(userId: number): im.UserInfo.$Properties {
  const name = `user${userId}`;
  return {
    userId,
    userGender: 1,
    userNickName: name,
    avatarUrl: '',
    departmentId: 1,
    email: `${name}@example.invalid`,
    userRealName: name,
    userTel: '',
    userDomain: name,
    status: 0,
    signInfo: '',
  };
}
