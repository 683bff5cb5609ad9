/**
 * `--image URL` of `ttpush send` and `ttpush batch`: pictures after the text. With none, the text goes as
 * `content`, exactly as before; with some, as `parts` (ttpush builds the markup the TeamTalk clients render).
 */
import type { MessageText, Part } from '@ttpush/client';
import { UsageError } from '../args.ts';

/** The --image values in order; one that is not an http(s) URL is a usage error (ttpush checks the rest). */
export function imageFlags(values: readonly string[] | undefined): string[] {
  const images = [...(values ?? [])];
  for (const url of images) {
    if (!/^https?:\/\/\S+$/i.test(url)) throw new UsageError(`--image must be an http(s) URL, got '${url}'`);
  }
  return images;
}

/** `content`, or with pictures `parts`: the text (when not empty) then each picture. */
export function textOf(options: { text: string; images: readonly string[] }): MessageText {
  if (options.images.length === 0) return { content: options.text };
  const parts: Part[] = options.text === '' ? [] : [{ text: options.text }];
  for (const image of options.images) parts.push({ image });
  return { parts };
}
