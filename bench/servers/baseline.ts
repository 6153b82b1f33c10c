// The idiomatic baseline: a plain Fastify app over the real server's tickets,
// building each page as objects per request and returning them through a
// response schema (fast-json-stringify), with ETags the way @fastify/etag
// makes them (a hash of each body as it is sent). Fastify's defaults otherwise,
// logger off included: the comparison is about building and serializing
// pages, and a per-request log line would only slow the baseline down.
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { buildItem, buildPage, itemSchema, type PageQuery, pageSchema, rowOf } from '../baseline-page.ts';
import { allTickets } from '../client.ts';
import { announce, listenOptions, sourceUrl } from './reference.ts';

const rows = (await allTickets(sourceUrl())).map(rowOf);
const byId = new Map(rows.map((row) => [row._id, row]));

const app = Fastify();
app.addHook('onSend', (request, reply, payload, done) => {
  if (reply.statusCode !== 200 || typeof payload !== 'string') {
    done(null, payload);
    return;
  }
  const etag = `"${createHash('sha1').update(payload).digest('hex')}"`;
  reply.header('etag', etag);
  if (request.headers['if-none-match'] === etag) {
    reply.code(304);
    done(null, '');
    return;
  }
  done(null, payload);
});

app.get('/tickets', { schema: { response: { 200: pageSchema } } }, (request) =>
  buildPage(rows, request.query as PageQuery),
);
app.get('/tickets/:id', { schema: { response: { 200: itemSchema } } }, (request, reply) => {
  const row = byId.get((request.params as { id: string }).id);
  return row ? buildItem(row) : reply.callNotFound();
});
app.get('/readyz', () => ({ status: 'ok' }));

announce(await app.listen(listenOptions()));
