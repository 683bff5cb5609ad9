/**
 * Text with pictures. TeamTalk has no picture message type: its clients (Android, iOS, Mac) render an
 * image URL wrapped in a marker pair inside an ordinary text message, and mix text and pictures in any
 * order and number. `joinParts` builds that markup; `splitParts` reads it back the way the clients do
 * (the next start marker, then the next end marker after it; a start marker without an end leaves the
 * rest as text). Shared by the api (requests, views) and the cli (`ttpush listen`, `send --image`).
 */
import type { Part } from '@ttpush/contract';

/** What the clients look for before a picture's URL (Android IMAGE_MSG_START, iOS DD_MESSAGE_IMAGE_PREFIX). */
export const IMAGE_START = '&$#@~^@[{:';
/** What the clients look for after a picture's URL (Android IMAGE_MSG_END, iOS DD_MESSAGE_IMAGE_SUFFIX). */
export const IMAGE_END = ':}]&$~@#@';

/** An image URL's longest form, in UTF-8 bytes. */
export const MAX_IMAGE_URL_BYTES = 1000;

/** The message text of `parts`: text as it is, a picture as start marker + URL + end marker, nothing between. */
export function joinParts(parts: readonly Part[]): string {
  let out = '';
  for (const part of parts) out += 'image' in part ? `${IMAGE_START}${part.image}${IMAGE_END}` : part.text;
  return out;
}

/** The parts a client shows for `text`: adjacent text is one part; empty text parts are left out. */
export function splitParts(text: string): Part[] {
  const parts: Part[] = [];
  const pushText = (t: string) => {
    if (t === '') return;
    const last = parts.at(-1);
    if (last !== undefined && 'text' in last) last.text += t;
    else parts.push({ text: t });
  };
  let at = 0;
  for (;;) {
    const start = text.indexOf(IMAGE_START, at);
    if (start === -1) break;
    const end = text.indexOf(IMAGE_END, start + IMAGE_START.length);
    if (end === -1) break;
    pushText(text.slice(at, start));
    parts.push({ image: text.slice(start + IMAGE_START.length, end) });
    at = end + IMAGE_END.length;
  }
  pushText(text.slice(at));
  return parts;
}

/** Whether `text` holds either marker: a caller's text or URL must not, or it could inject markup. */
export function holdsMarker(text: string): boolean {
  return text.includes(IMAGE_START) || text.includes(IMAGE_END);
}

/** Whether `text` holds at least one picture, as the clients read it. */
export function hasImage(text: string): boolean {
  return splitParts(text).some((p) => 'image' in p);
}
