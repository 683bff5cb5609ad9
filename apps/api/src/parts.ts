/**
 * Checks of `parts` (text with pictures), given instead of `content` on /v1/messages, /v1/batches and a
 * batch recipient. The parts are joined into the one text TeamTalk carries (@ttpush/store joinParts); a
 * refusal names the part (`parts[2].image`) and the fix. A caller cannot inject picture markup: text
 * and URLs holding a marker are refused, and so are text parts that make one only once joined.
 */
import type { Part } from '@ttpush/contract';
import { holdsMarker, IMAGE_END, IMAGE_START, joinParts, MAX_IMAGE_URL_BYTES } from '@ttpush/store';
import { ApiError } from './errors.ts';

const FORM = 'give an array such as [{"text": "Sale today "}, {"image": "https://example.com/banner.png"}]';
const PART_FORM = 'give {"text": "..."} or {"image": "https://..."}';
// What a browser would read as a URL: http(s), a host, no spaces or control characters.
// eslint-disable-next-line no-control-regex -- control characters are what this refuses
const HTTP_URL = /^https?:\/\/[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*$/i;

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function markerRefusal(field: string, what: string): ApiError {
  return new ApiError(
    'invalid_field',
    `${field} holds a TeamTalk picture marker ("${IMAGE_START}" or "${IMAGE_END}"): ${what}`,
    field,
  );
}

function checkImage(value: unknown, field: string): string {
  if (typeof value !== 'string' || !HTTP_URL.test(value) || !URL.canParse(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : kind(value);
    throw new ApiError(
      'invalid_field',
      `${field} is ${shown}, not an http(s) URL: give the picture's address, such as "https://example.com/banner.png"`,
      field,
    );
  }
  const size = Buffer.byteLength(value, 'utf8');
  if (size > MAX_IMAGE_URL_BYTES) {
    throw new ApiError(
      'invalid_field',
      `${field} is ${size} bytes long, over the limit of ${MAX_IMAGE_URL_BYTES}: give a shorter URL (a link shortener, or a shorter path)`,
      field,
    );
  }
  if (holdsMarker(value)) throw markerRefusal(field, 'a URL cannot hold one; percent-encode those characters');
  return value;
}

function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ApiError(
      'invalid_field',
      `${field} is ${typeof value === 'string' ? 'empty' : kind(value)}: give a non-empty string, or leave the part out`,
      field,
    );
  }
  if (holdsMarker(value)) {
    throw markerRefusal(field, 'pictures are given as their own part, {"image": "https://..."}; remove the marker');
  }
  return value;
}

function checkPart(value: unknown, field: string): Part {
  if (!isObject(value))
    throw new ApiError('invalid_field', `${field} is ${kind(value)}, not an object: ${PART_FORM}`, field);
  for (const key of Object.keys(value)) {
    if (key !== 'text' && key !== 'image') {
      throw new ApiError('unknown_field', `${field}.${key} is not a known field: ${PART_FORM}`, `${field}.${key}`);
    }
  }
  const hasText = Object.hasOwn(value, 'text');
  const hasImage = Object.hasOwn(value, 'image');
  if (hasText === hasImage) {
    throw new ApiError(
      hasText ? 'invalid_field' : 'missing_field',
      `${field} holds ${hasText ? 'both text and image' : 'neither text nor image'}: ${PART_FORM}, one part each`,
      field,
    );
  }
  return hasImage
    ? { image: checkImage(value.image, `${field}.image`) }
    : { text: checkText(value.text, `${field}.text`) };
}

/**
 * The text of `parts`, joined as the TeamTalk clients read it, within `maxBytes` UTF-8 bytes (markers
 * included). `field` is the path of the parts (`parts`, `recipients[3].parts`).
 */
export function requireParts(value: unknown, field: string, maxBytes: number): string {
  if (!Array.isArray(value)) {
    throw new ApiError(
      value === undefined ? 'missing_field' : 'invalid_field',
      `${field} is ${value === undefined ? 'missing' : kind(value)}, not an array: ${FORM}`,
      field,
    );
  }
  if (value.length === 0) throw new ApiError('invalid_field', `${field} is empty: ${FORM}`, field);
  const parts = value.map((p, i) => checkPart(p, `${field}[${i}]`));
  // Text parts side by side are one text to the clients: together they must not make a marker either.
  let runStart = -1;
  for (let i = 0; i <= parts.length; i++) {
    const part = parts[i];
    if (part !== undefined && 'text' in part) {
      if (runStart === -1) runStart = i;
      continue;
    }
    if (runStart !== -1 && i - runStart > 1) {
      const run = parts.slice(runStart, i).map((p) => ('text' in p ? p.text : ''));
      if (holdsMarker(run.join(''))) {
        throw markerRefusal(
          `${field}[${runStart}].text`,
          `joined with the text parts after it up to ${field}[${i - 1}], it makes one; pictures are given as their own part`,
        );
      }
    }
    runStart = -1;
  }
  const text = joinParts(parts);
  const size = Buffer.byteLength(text, 'utf8');
  if (size > maxBytes) {
    throw new ApiError(
      'content_too_long',
      `${field} make ${size} bytes of UTF-8 once joined (each picture adds ${IMAGE_START.length + IMAGE_END.length} bytes of markers), over the limit of ${maxBytes} bytes: shorten the text or leave a picture out`,
      field,
    );
  }
  return text;
}

/** `content` and `parts` are two ways of giving the same text: refused when both are there. */
export function assertNotBoth(content: unknown, parts: unknown, prefix = ''): void {
  if (content === undefined || parts === undefined) return;
  const at = (name: string) => (prefix ? `${prefix}.${name}` : name);
  throw new ApiError(
    'invalid_field',
    `${at('content')} and ${at('parts')} are both given: give the text as "content", or text and pictures as "parts", not both`,
    at('parts'),
  );
}
