// GET /ui and its files as HTTP sees them: the page each version serves, its
// Content-Security-Policy, validators that let a browser keep the files, the
// metrics that count it, and the mesh that must route it but not gate on it.
// Its files, built by `npm run build`, are test/process/ui-files.test.ts; what
// the page does in a browser is test/process/ui-browser.test.ts.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { NOT_FOUND_MESSAGE } from '../src/errors.ts';
import { CONTENT_SECURITY_POLICY, uiRoutes } from '../src/routes/ui.ts';
import { appFor, closeApps, get } from './helpers/app.ts';
import { ROOT } from './helpers/process.ts';

t.teardown(closeApps);

t.test('each version serves the page naming itself, under a policy that allows only this origin', async (t) => {
  for (const [version, formatter] of [
    ['v1', 'title-case'],
    ['v2', 'upper-case'],
  ] as const) {
    const res = await get(await appFor(version), '/ui');
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^text\/html; charset=utf-8$/);
    t.equal(res.headers['x-ecadraft-version'], version);
    t.match(res.body, `This page was served by <strong>${version}</strong> (${formatter} names)`);
    t.match(res.body, `<body data-version="${version}">`);
    t.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    t.equal(res.headers['cache-control'], 'no-cache', 'kept, and revalidated on every load');
    t.match(res.headers.etag, /^"[0-9a-f]{40}"$/);
  }
  t.not(
    (await get(await appFor('v1'), '/ui')).headers.etag,
    (await get(await appFor('v2'), '/ui')).headers.etag,
    'the two pages are two representations',
  );
  const policy = CONTENT_SECURITY_POLICY;
  t.match(policy, /default-src 'none'/);
  t.match(policy, /script-src 'self'(;|$)/);
  t.notMatch(policy, /unsafe|https?:|\*|data:/, 'no inline code, no eval, no other origin');
  const page = (await get(await appFor('v1'), '/ui')).body;
  t.notMatch(
    page,
    /<script>|<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=/i,
    'no inline script, style or handler',
  );
  t.same(
    [...page.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]),
    ['/ui/icon.svg', '/ui/app.css', '/ui/app.js'],
    'every file it loads is its own',
  );
});

t.test('the page answers conditional requests', async (t) => {
  const app = await appFor('v1');
  const page = await get(app, '/ui');
  const again = await get(app, '/ui', { 'if-none-match': page.headers.etag as string });
  t.equal(again.statusCode, 304);
  t.equal(again.body, '');
  t.equal(again.headers['content-security-policy'], CONTENT_SECURITY_POLICY);

  t.equal((await get(app, '/ui/nope.js')).statusCode, 404, 'nothing else under /ui');
});

t.test('the files are read once, at start; one not built is a 404 and a warning', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecadraft-ui-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'app.js'), 'export {};\n');
  utimesSync(path.join(dir, 'app.js'), 1_594_713_731, 1_594_713_731);
  const warnings: string[] = [];
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => warnings.push(line) } } });
  uiRoutes(app, 'v1', dir);
  writeFileSync(path.join(dir, 'app.css'), 'body {}\n');
  const js = await app.inject('/ui/app.js');
  t.equal(js.statusCode, 200);
  t.equal(js.body, 'export {};\n');
  t.equal(js.headers['last-modified'], 'Tue, 14 Jul 2020 08:02:11 GMT', "the file's time");
  t.equal(js.headers.etag, `"${createHash('sha1').update('export {};\n').digest('hex')}"`);
  const css = await app.inject('/ui/app.css');
  t.equal(css.statusCode, 404, 'written after the start: not served');
  t.same(css.json(), { _status: 'ERR', _error: { code: 404, message: NOT_FOUND_MESSAGE } });
  t.equal(warnings.length, 2, 'a warning for each missing file');
  t.match(warnings[0], /\/ui\/app\.css is not built \(.*app\.css\): run npm run build/);
  await app.close();
});

t.test('counted in the metrics by route, and kept out of the success-rate gate', async (t) => {
  const app = await appFor('v2', { SEED: '7' });
  const { etag } = (await get(app, '/ui')).headers;
  await get(app, '/ui', { 'if-none-match': etag as string });
  const metrics = (await get(app, '/metrics')).body;
  for (const status of [200, 304])
    t.match(metrics, `ecadraft_http_requests_total{route="/ui",method="GET",status_code="${status}",version="v2"} 1`);

  // The Argo Rollouts gate's queries select the API routes by a regular expression, which PromQL anchors.
  const analysis = readFileSync(path.join(ROOT, 'kubernetes/argo-rollouts/analysis.yaml'), 'utf8');
  const selectors = [...analysis.matchAll(/route=~"([^"]+)"/g)].map((m) => new RegExp(`^(?:${m[1]})$`));
  t.ok(selectors.length > 0, `${selectors.length} route selectors`);
  for (const selector of selectors) {
    t.ok(selector.test('/tickets'), `${selector} selects /tickets`);
    for (const route of ['/ui', '/ui/app.js', '/ui/app.css'])
      t.notOk(selector.test(route), `${selector}: not ${route}`);
  }
});

t.test("the walkthrough's routes reach /ui", async (t) => {
  // Every VirtualService and HTTPRoute of a step has a route that matches any path: /ui goes where /tickets goes.
  const files = [
    ...['v1', '90-10', '50-50', 'v2', 'header-canary', 'mirror'].map((s) => `ecadraft-virtual-service-${s}.yaml`),
    ...['gateway-api', 'ambient'].flatMap((dir) =>
      ['v1', '90-10', '50-50', 'v2', 'header-canary', 'mirror'].map((s) => `${dir}/httproute-${s}.yaml`),
    ),
  ];
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(path.join(ROOT, 'kubernetes', file), 'utf8'))) {
      const object = document.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
      const routes = (object.kind === 'VirtualService' ? object.spec.http : object.spec.rules) as Record<
        string,
        unknown
      >[];
      const catchAll = routes.some((route) => route.match === undefined && route.matches === undefined);
      t.ok(catchAll, `${file}: ${object.kind}/${object.metadata.name} routes every path`);
    }
  }
});
