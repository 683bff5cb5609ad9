/**
 * Writes docs/openapi.json, the committed API reference integrators can read without running ttpush,
 * from the same operations and schemas the API serves at /openapi.json. `npm run gen:openapi`; a test
 * fails when the file and the code differ. `--check` only compares (exit 1 when they differ).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { apiDocumentText } from '../apps/api/src/openapi/index.ts';

const FILE = new URL('../docs/openapi.json', import.meta.url);

const text = apiDocumentText();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(FILE, 'utf8');
  } catch {
    // Missing: differs.
  }
  if (current !== text) {
    console.error('docs/openapi.json differs from the code: run npm run gen:openapi');
    process.exit(1);
  }
} else {
  writeFileSync(FILE, text);
  console.log('wrote docs/openapi.json');
}
