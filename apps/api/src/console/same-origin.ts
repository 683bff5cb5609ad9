/**
 * CSRF defence for what a console session may change: besides the SameSite=Strict cookie, the browser
 * must say the request comes from this origin (Sec-Fetch-Site: same-origin, or an Origin header equal
 * to this host). A request with neither header is refused: every browser that runs the console sends one.
 */
import type { Request } from 'express';

export function fromSameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (typeof origin !== 'string' || origin === 'null' || host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
