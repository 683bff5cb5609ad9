/**
 * Loads every operation of the API reference: one import per ops-*.ts file. Whoever adds a route adds
 * its ops-*.ts file and its import line here (a test fails on a route without an operation).
 */
import './ops-messages.ts';
import './ops-batches.ts';
import './ops-groups.ts';
import './ops-legacy.ts';
import './ops-health.ts';
import './ops-admin.ts';
import './ops-console.ts';
import './ops-webhooks.ts';

import { allOperations } from './registry.ts';
import { openApiDocument } from './document.ts';

export { allOperations };

/** The document of every operation loaded above. */
export function apiDocument(): Record<string, unknown> {
  return openApiDocument(allOperations());
}

/** The document as committed in docs/openapi.json (npm run gen:openapi). */
export function apiDocumentText(): string {
  return `${JSON.stringify(apiDocument(), null, 2)}\n`;
}
