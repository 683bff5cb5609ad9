/**
 * GET /openapi.json (the API reference as OpenAPI 3.1, generated once when the app is built) and GET
 * /docs (a Swagger UI page reading it). Swagger UI's files are served from the installed swagger-ui-dist
 * under /docs/assets: the page works without internet, and runs no inline script.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Router } from 'express';
import { apiDocument } from '../openapi/index.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';
import { ApiError } from '../errors.ts';

const UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The only files of swagger-ui-dist the page uses. */
const UI_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'text/javascript',
  'favicon-32x32.png': 'image/png',
};

/** Starts Swagger UI on the page; a file of its own so the page's policy can forbid inline scripts. */
const INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ttpush API reference</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<noscript>This page needs JavaScript; the same reference is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/ttpush-init.js"></script>
</body>
</html>
`;

// Swagger UI sets inline styles; its scripts are all ours to name.
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'";

export function docsRouter(): Router {
  const router = Router();
  const document = JSON.stringify(apiDocument());

  router
    .route('/openapi.json')
    .get(routeName('/openapi.json'), (_req, res) => {
      res.status(200).type('application/json').set('Cache-Control', 'no-cache').send(document);
    })
    .all(routeName('/openapi.json'), methodNotAllowed(['GET']));

  router
    .route('/docs')
    .get(routeName('/docs'), (_req, res) => {
      res.status(200).type('text/html').set('Content-Security-Policy', PAGE_POLICY).send(PAGE);
    })
    .all(routeName('/docs'), methodNotAllowed(['GET']));

  router.get('/docs/assets/:file', routeName('/docs/assets/:file'), (req, res, next) => {
    const file = String(req.params.file);
    if (file === 'ttpush-init.js') {
      res.status(200).type('text/javascript').set('Cache-Control', 'no-cache').send(INIT_JS);
      return;
    }
    const type = Object.hasOwn(UI_FILES, file) ? UI_FILES[file] : undefined;
    if (type === undefined) {
      throw new ApiError('not_found', `there is no file ${JSON.stringify(file)} under /docs/assets: open /docs`);
    }
    res.type(type).set('Cache-Control', 'public, max-age=3600');
    res.sendFile(join(UI_DIR, file), (err) => {
      if (err) next(err);
    });
  });

  return router;
}
