/**
 * The --groups file of `ttpush sandbox`: {"<group id>": [member user ids]}, validated with messages
 * that say exactly what is wrong.
 */
import { readFile } from 'node:fs/promises';

/** A --groups file that cannot be used; the message says what is wrong with it. */
export class GroupsFileError extends Error {
  override readonly name = 'GroupsFileError';
  readonly code = 'CLI_BAD_GROUPS_FILE';
}

const MAX_ID = 0xffffffff;

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ID;
}

/**
 * Validates the JSON text of a --groups file: an object whose keys are group ids and whose values
 * are arrays of member user ids, every id a positive integer that fits TeamTalk's uint32.
 */
export function parseGroups(text: string, file: string): Record<string, number[]> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new GroupsFileError(`--groups ${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new GroupsFileError(`--groups ${file} must hold a JSON object like {"100": [1, 2, 3]}`);
  }
  const groups: Record<string, number[]> = {};
  for (const [key, members] of Object.entries(data)) {
    if (!/^[1-9]\d*$/.test(key) || !isId(Number(key))) {
      throw new GroupsFileError(`--groups ${file}: group id "${key}" is not a positive integer up to ${MAX_ID}`);
    }
    if (!Array.isArray(members)) {
      throw new GroupsFileError(`--groups ${file}: the members of group ${key} must be an array of user ids`);
    }
    const bad = members.findIndex((m) => !isId(m));
    if (bad !== -1) {
      throw new GroupsFileError(
        `--groups ${file}: group ${key} has member ${JSON.stringify(members[bad])}, not a positive integer up to ${MAX_ID}`,
      );
    }
    groups[key] = [...new Set(members as number[])];
  }
  return groups;
}

export async function readGroupsFile(file: string): Promise<Record<string, number[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw new GroupsFileError(`--groups ${file}: cannot read it: ${why}`);
  }
  return parseGroups(text, file);
}
