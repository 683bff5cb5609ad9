/** `parts`: text with pictures, given instead of `content` (a message, a batch, a batch recipient). */
import { z } from 'zod';
import { IMAGE_END, IMAGE_START, MAX_IMAGE_URL_BYTES } from '@ttpush/store';

export const TextPart = z
  .object({ text: z.string().min(1) })
  .strict()
  .meta({ id: 'TextPart', description: 'Text, sent as it is. It may not hold a picture marker.' });

export const ImagePart = z
  .object({ image: z.string().regex(/^https?:\/\//i) })
  .strict()
  .meta({
    id: 'ImagePart',
    description: `A picture the TeamTalk clients download and show: an http(s) URL of at most ${MAX_IMAGE_URL_BYTES} bytes, holding no picture marker.`,
    example: { image: 'https://example.com/banner.png' },
  });

export const Part = z.union([TextPart, ImagePart]).meta({ id: 'Part' });

export const Parts = z
  .array(Part)
  .min(1)
  .meta({
    id: 'Parts',
    description: `Text and pictures, in order, instead of \`content\` (one of the two, never both). TeamTalk carries them as one text: the parts joined with nothing between, a text part as it is, a picture as "${IMAGE_START}" + URL + "${IMAGE_END}" (the markup its Android, iOS and Mac clients render). The joined text counts against TTPUSH_MAX_CONTENT_BYTES (content_too_long). A URL that is not http(s), is over ${MAX_IMAGE_URL_BYTES} bytes or holds a marker, and a text part holding a marker, are refused (invalid_field naming the part, e.g. parts[2].image).`,
    example: [{ text: 'Sale starts today ' }, { image: 'https://example.com/banner.png' }],
  });
