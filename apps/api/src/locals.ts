/** What the API keeps per request in `res.locals`, typed (Express types it as `any`). */
import type { Response } from 'express';
import type { AppIdentity } from './auth.ts';

export interface ApiLocals {
  requestId: string;
  /** The route template for logs and metrics ('unmatched' until a route claims the request). */
  route: string;
  /** The authenticated app, once known. */
  app?: AppIdentity;
  /** Set on /query routes: errors are answered in the legacy format. */
  legacy?: boolean;
  /** Writes the request's log line and metric once; called on finish/close and by the legacy writer. */
  complete: () => void;
}

export function locals(res: Response): ApiLocals {
  return res.locals as ApiLocals;
}
