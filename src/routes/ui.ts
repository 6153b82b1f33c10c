// GET /ui: a page that shows the live split in a browser, and the script and
// styles it loads. Everything comes from this origin, under a Content-Security-Policy
// that allows nothing else. The page itself is a shell; its browser code
// (src/ui/, bundled into dist/ui/ by `npm run build`) polls a URL of this origin
// and draws what answers.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isNotModified, type Validators } from '../conditional.ts';
import { formatHttpDate } from '../dates.ts';
import { FORMATTERS, VERSION_NAMES, type VersionName } from '../format.ts';
import { notFound } from '../http-errors.ts';
import { bodiless, ETAG, header, VERSION } from '../openapi.ts';
import { RELEASE } from '../release.ts';

/** Scripts, styles, data and fonts from this origin only; no inline script or style, no eval, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** What the page's answers carry besides the version, as the OpenAPI document gives them. */
const UI_HEADERS = {
  ETag: { ...ETAG, description: 'SHA-1 of the page, quoted' },
  'Cache-Control': header('Kept by the browser and revalidated on every load', { enum: ['no-cache'] }),
  'Content-Security-Policy': header('Nothing from another origin; no inline script or style, no eval', {
    enum: [CONTENT_SECURITY_POLICY],
  }),
};

/**
 * Kept by the browser, revalidated on every load: during a rollout the pods
 * behind one address run different releases, and a page must not mix them.
 */
const CACHE_CONTROL = 'no-cache';

/** The page's own files, as `npm run build` writes them. From src/ (tests run it with tsx) they are in dist/ui. */
const ASSET_DIR = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../dist/ui/' : '../ui/', import.meta.url),
);
const ASSETS = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
} as const;

interface Asset {
  body: Buffer;
  type: string;
  validators: Required<Validators>;
}

const etagOf = (body: Buffer | string) => `"${createHash('sha1').update(body).digest('hex')}"`;

function loadAsset(dir: string, name: keyof typeof ASSETS): Asset | undefined {
  const file = path.join(dir, name);
  try {
    const body = readFileSync(file);
    const modified = Math.floor(statSync(file).mtimeMs / 1000);
    return { body, type: ASSETS[name], validators: { etag: etagOf(body), modified } };
  } catch {
    return undefined;
  }
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The page as `version` serves it: it names the version and shows it in that version's colour. */
export function pageHtml(version: VersionName): string {
  const index = VERSION_NAMES.indexOf(version);
  const formatter = FORMATTERS[version].name;
  const v = escapeHtml(version);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ecadraft canary: served by ${v}</title>
<link rel="icon" href="/ui/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/app.css">
<script type="module" src="/ui/app.js"></script>
</head>
<body data-version="${v}">
<header class="served version-${index}">
<h1>ecadraft canary</h1>
<p>This page was served by <strong>${v}</strong> (${escapeHtml(formatter)} names), release ${escapeHtml(RELEASE)}.</p>
</header>
<main>
<form id="controls" class="controls">
<label>URL <input id="path" name="path" value="/tickets" spellcheck="false" autocomplete="off"></label>
<label>Requests per second <input id="rate" name="rate" type="number" min="1" max="50" step="1" value="10"></label>
<button type="submit">Apply</button>
<button type="button" id="pause">Pause</button>
<button type="button" id="reset">Reset</button>
</form>
<p id="status">Starting.</p>
<section aria-labelledby="split-title">
<h2 id="split-title">Split over the last 10 s</h2>
<table id="split">
<thead><tr><th scope="col">Version</th><th scope="col">Share</th><th scope="col">95% interval</th><th scope="col">Answers</th></tr></thead>
<tbody></tbody>
</table>
</section>
<section aria-labelledby="chart-title">
<h2 id="chart-title">Shares over time</h2>
<div id="chart"></div>
</section>
<section aria-labelledby="totals-title">
<h2 id="totals-title">Since the start</h2>
<table id="totals">
<thead><tr><th scope="col">Version</th><th scope="col">Answers</th><th scope="col">Non-2xx</th></tr></thead>
<tbody></tbody>
</table>
<p id="errors"></p>
<p id="classified"></p>
</section>
<noscript><p>This page draws the split with JavaScript; without it, run <code>ecadraft split --watch</code>.</p></noscript>
</main>
</body>
</html>
`;
}

function sendRepresentation(
  request: FastifyRequest,
  reply: FastifyReply,
  body: Buffer | string,
  type: string,
  validators: Validators,
) {
  reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', CACHE_CONTROL)
    .header('etag', validators.etag);
  if (validators.modified !== undefined) reply.header('last-modified', formatHttpDate(validators.modified));
  const ifNoneMatch = request.headers['if-none-match'];
  // RFC 9110: a client that sends If-None-Match is answered by it alone.
  const ifModifiedSince = ifNoneMatch === undefined ? request.headers['if-modified-since'] : undefined;
  if (isNotModified(ifNoneMatch, ifModifiedSince, validators)) return reply.code(304).send();
  return reply.type(type).send(body);
}

/** @param assetDir - where the built files are; tests give another */
export function uiRoutes(app: FastifyInstance, version: VersionName, assetDir = ASSET_DIR): void {
  const tags = ['operations'];
  const page = pageHtml(version);
  const pageValidators = { etag: etagOf(page) };
  app.get(
    '/ui',
    {
      schema: {
        operationId: 'getCanaryPage',
        summary: 'A page that shows the live split in a browser: shares, 95% intervals, errors, a chart',
        tags,
        response: {
          200: {
            description: 'The page; its script and styles load from /ui/app.js and /ui/app.css',
            content: { 'text/html': { schema: { type: 'string' }, example: pageHtml('v1') } },
            headers: { ...VERSION, ...UI_HEADERS },
          },
          304: bodiless('The page the client holds (`If-None-Match`) is current', UI_HEADERS),
        },
      },
    },
    (request, reply) => sendRepresentation(request, reply, page, 'text/html; charset=utf-8', pageValidators),
  );

  for (const name of Object.keys(ASSETS) as (keyof typeof ASSETS)[]) {
    const asset = loadAsset(assetDir, name);
    if (!asset) app.log.warn(`/ui/${name} is not built (${path.join(assetDir, name)}): run npm run build`);
    app.get(`/ui/${name}`, { schema: { hide: true } }, (request, reply) => {
      if (!asset) return notFound(reply);
      return sendRepresentation(request, reply, asset.body, asset.type, asset.validators);
    });
  }
}
