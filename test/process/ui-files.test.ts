// The /ui page's files as the built service serves them (`npm run build`
// bundles src/ui/ into dist/ui/): each with validators a browser can keep
// and revalidate, and the same bytes and validators from v1 and v2, since one
// address serves both during a rollout.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { formatHttpDate, parseHttpDate } from '../../src/dates.ts';
import { ROOT, startServer } from '../helpers/process.ts';

const FILES = [
  ['/ui/app.js', /^text\/javascript; charset=utf-8$/],
  ['/ui/app.css', /^text\/css; charset=utf-8$/],
  ['/ui/icon.svg', /^image\/svg\+xml$/],
] as const;

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

t.test('the built files, with validators, the same from both versions', async (t) => {
  const [v1, v2] = await Promise.all([
    startServer(t, { SHUTDOWN_DELAY_MS: '0' }),
    startServer(t, { VERSION: 'v2', SHUTDOWN_DELAY_MS: '0' }),
  ]);
  for (const [file, type] of FILES) {
    const res = await get(`${v1.url}${file}`);
    t.equal(res.status, 200, file);
    t.match(res.headers.get('content-type'), type);
    t.equal(res.headers.get('cache-control'), 'no-cache', `${file}: kept, revalidated on every load`);
    const body = Buffer.from(await res.arrayBuffer());
    t.ok(body.equals(readFileSync(path.join(ROOT, 'dist', file))), `${file}: the built file`);
    if (file !== '/ui/icon.svg') t.notMatch(body.toString(), /https?:\/\//, `${file}: names no other origin`);
    const etag = res.headers.get('etag')!;
    const modified = res.headers.get('last-modified')!;
    t.match(etag, /^"[0-9a-f]{40}"$/);
    t.ok(parseHttpDate(modified), `${file}: Last-Modified ${modified}`);

    const other = await get(`${v2.url}${file}`);
    t.equal(other.headers.get('x-ecadraft-version'), 'v2');
    t.same([other.headers.get('etag'), other.headers.get('last-modified')], [etag, modified], `${file}: v2 alike`);
    await other.arrayBuffer();

    const status = async (headers: Record<string, string>) => {
      const answer = await get(`${v1.url}${file}`, headers);
      const text = await answer.text();
      return answer.status === 304 ? (text === '' ? 304 : 'a 304 with a body') : answer.status;
    };
    t.equal(await status({ 'if-none-match': etag }), 304, `${file}: If-None-Match`);
    t.equal(await status({ 'if-modified-since': modified }), 304, `${file}: If-Modified-Since`);
    const earlier = formatHttpDate(parseHttpDate(modified)! - 3600);
    t.equal(await status({ 'if-modified-since': earlier }), 200, `${file}: changed since`);
    // RFC 9110: with If-None-Match present, If-Modified-Since is not consulted.
    t.equal(await status({ 'if-none-match': '"stale"', 'if-modified-since': modified }), 200, `${file}: ETag decides`);
  }
});
