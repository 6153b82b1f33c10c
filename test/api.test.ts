// The Eve-compatible HTTP API (docs/api.md), through the real HTTP surface, for both versions.
import { createHash } from 'node:crypto';
import t from 'tap';
import { NOT_FOUND } from './helpers/answers.ts';
import { appFor, closeApps, get, type Json, page, VERSIONS } from './helpers/app.ts';

t.teardown(closeApps);

const ITEM_KEYS = ['customer', 'status', 'product', '_id', '_updated', '_created', '_etag', '_links'];
const RFC1123 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const q = encodeURIComponent;

for (const version of VERSIONS) {
  t.test(`${version}`, async (t) => {
    const app = await appFor(version);
    const all: Json[] = (await page(app, '/tickets?max_results=50'))._items.concat(
      (await page(app, '/tickets?max_results=50&page=2'))._items,
    );

    t.test('home', async (t) => {
      const res = await get(app, '/');
      t.equal(res.statusCode, 200);
      t.equal(res.body, '{"_links":{"child":[{"href":"tickets","title":"tickets"}]}}');
      t.match(res.headers['content-type'], /^application\/json/);
      t.equal(res.headers['x-ecadraft-version'], version);
    });

    t.test('collection envelope, items and headers', async (t) => {
      const res = await get(app, '/tickets');
      t.equal(res.statusCode, 200);
      t.match(res.headers['content-type'], /^application\/json/);
      t.equal(res.headers['x-ecadraft-version'], version);
      const body = res.json();
      t.same(Object.keys(body), ['_items', '_links', '_meta']);
      t.same(body._meta, { page: 1, max_results: 25, total: 100 });
      t.same(Object.keys(body._meta), ['page', 'max_results', 'total']);
      t.equal(body._items.length, 25);
      t.equal(res.headers['x-total-count'], '100');
      const newest = Math.max(...body._items.map((i: Json) => Date.parse(i._updated)));
      t.equal(res.headers['last-modified'], new Date(newest).toUTCString());
      t.equal(
        res.headers.etag,
        `"${createHash('sha1').update(res.rawPayload).digest('hex')}"`,
        'ETag over the exact body',
      );
      for (const item of body._items) {
        t.same(Object.keys(item), ITEM_KEYS);
        t.match(item._id, UUID);
        t.match(item._updated, RFC1123);
        t.match(item._created, RFC1123);
        t.ok(Date.parse(item._updated) >= Date.parse(item._created), '_updated >= _created');
        t.match(item._etag, /^[0-9a-f]{40}$/);
        t.same(item._links, { self: { title: 'Ticket', href: `tickets/${item._id}` } });
        t.ok(['Open', 'Pending', 'In Progress', 'Resolved', 'Closed'].includes(item.status));
        const { _etag, _links, ...served } = item;
        t.equal(
          _etag,
          createHash('sha1').update(JSON.stringify(served)).digest('hex'),
          'ETag hashes the ticket as served',
        );
      }
    });

    t.test('customer formatting is the version', async (t) => {
      for (const { customer } of all) {
        if (version === 'v1')
          t.equal(
            customer,
            customer.toLowerCase().replace(/(^|[\s-])(\S)/g, (_: string, s: string, c: string) => s + c.toUpperCase()),
          );
        else t.equal(customer, customer.toUpperCase());
      }
      t.ok(all.some((i) => /[a-z]/.test(i.customer)) === (version === 'v1'), 'lower-case letters only in v1');
    });

    t.test('links of the first, a middle, the last and a past-the-end page', async (t) => {
      const first = await page(app, '/tickets');
      t.same(first._links, {
        parent: { title: 'home', href: '/' },
        self: { title: 'tickets', href: 'tickets' },
        next: { title: 'next page', href: 'tickets?page=2' },
        last: { title: 'last page', href: 'tickets?page=4' },
      });
      t.same(Object.keys(first._links), ['parent', 'self', 'next', 'last']);
      const middle = await page(app, '/tickets?page=2');
      t.same(Object.keys(middle._links), ['parent', 'self', 'next', 'last', 'prev']);
      t.equal(middle._links.self.href, 'tickets?page=2');
      t.equal(middle._links.prev.href, 'tickets');
      const last = await page(app, '/tickets?page=4');
      t.same(Object.keys(last._links), ['parent', 'self', 'prev']);
      t.equal(last._items.length, 25);
      const past = await get(app, '/tickets?page=9');
      t.equal(past.statusCode, 200);
      t.same(past.json()._items, []);
      t.same(past.json()._links.prev, { title: 'previous page', href: 'tickets?page=8' });
      t.equal(past.headers['last-modified'], undefined, 'no Last-Modified on an empty page');
      t.equal(past.json()._meta.total, 100);
    });

    t.test('link query strings: order, echo, encoding', async (t) => {
      const where = '{"status": "Open"}';
      const body = await page(
        app,
        `/tickets?zeta=1&page=2&projection=${q('{"customer":1}')}&sort=-customer&embedded={}&where=${q(where)}&max_results=3&pretty&alpha=x y`,
      );
      const w = '%7B%22status%22:%20%22Open%22%7D';
      t.equal(
        body._links.self.href,
        `tickets?max_results=3&where=${w}&sort=-customer&page=2&zeta=1&pretty=&alpha=x%20y`,
      );
      t.equal(body._links.prev.href, `tickets?max_results=3&where=${w}&sort=-customer&zeta=1&pretty=&alpha=x%20y`);
      for (const link of Object.values<Json>(body._links)) {
        t.doesNotThrow(() => new URL(link.href, 'http://x/'), 'a valid URL');
        t.notMatch(link.href, /^\/./, 'relative, no leading slash');
      }
      const unicode = await page(app, '/tickets?x=%C3%A9%E2%82%AC&y=%22%3C%3E%7C%5E%60');
      t.equal(unicode._links.next.href, 'tickets?page=2&x=%C3%A9%E2%82%AC&y=%22%3C%3E%7C%5E%60');
      t.equal(
        decodeURIComponent(unicode._links.next.href),
        'tickets?page=2&x=é€&y="<>|^`',
        'decodes to what Eve writes',
      );
      const none = await page(app, `/tickets?where=${q('{"status":"Nope"}')}&foo=bar`);
      t.equal(none._links.self.href, 'tickets', 'self carries no query when nothing matches');
      t.same(Object.keys(none._links), ['parent', 'self']);
    });

    t.test('paging parameters as Eve, never a 500', async (t) => {
      const cases: [string, number, number][] = [
        ['', 25, 1],
        ['max_results=10', 10, 1],
        ['max_results=10.9', 10, 1],
        ['max_results=0', 25, 1],
        ['max_results=-5', 25, 1],
        ['max_results=abc', 25, 1],
        ['max_results=60', 50, 1],
        ['max_results=1e400', 50, 1],
        ['max_results=nan', 25, 1],
        ['max_results=', 25, 1],
        ['page=-2', 25, 2],
        ['page=0', 25, 1],
        ['page=abc', 25, 1],
        ['page=2.5', 25, 1],
        ['page=3&page=1', 25, 3],
        ['max_results=5&max_results=7', 5, 1],
        ['page=', 25, 1],
        ['page=%2B2', 25, 2],
      ];
      for (const [query, maxResults, pageNo] of cases) {
        const res = await get(app, `/tickets?${query}`);
        t.equal(res.statusCode, 200, query);
        t.same(res.json()._meta, { page: pageNo, max_results: maxResults, total: 100 }, query);
      }
      const p2 = await page(app, '/tickets?max_results=10&page=2');
      t.same(
        p2._items.map((i: Json) => i._id),
        all.slice(10, 20).map((i) => i._id),
      );
    });

    t.test('where: JSON (Mongo) syntax', async (t) => {
      const count = (pred: (i: Json) => boolean) => all.filter(pred).length;
      const cases: [object, (i: Json) => boolean][] = [
        [{ status: 'Resolved' }, (i) => i.status === 'Resolved'],
        [
          { $or: [{ status: 'Open' }, { product: all[3].product }] },
          (i) => i.status === 'Open' || i.product === all[3].product,
        ],
        [{ status: { $in: ['Open', 'Pending'] } }, (i) => ['Open', 'Pending'].includes(i.status)],
        [{ status: { $nin: ['Open', 'Pending'] } }, (i) => !['Open', 'Pending'].includes(i.status)],
        [{ status: { $ne: 'Open' } }, (i) => i.status !== 'Open'],
        [{ status: { $eq: 'Closed' } }, (i) => i.status === 'Closed'],
        [{ customer: { $gt: 'M' } }, (i) => i.customer > 'M'],
        [{ customer: { $gte: 'M', $lt: 'S' } }, (i) => i.customer >= 'M' && i.customer < 'S'],
        [{ customer: { $lte: all[0].customer } }, (i) => i.customer <= all[0].customer],
        [{ $and: [{ status: 'Open' }, { customer: { $lt: 'M' } }] }, (i) => i.status === 'Open' && i.customer < 'M'],
        [{ $nor: [{ status: 'Open' }, { status: 'Closed' }] }, (i) => i.status !== 'Open' && i.status !== 'Closed'],
        [{ status: { $not: { $eq: 'Open' } } }, (i) => i.status !== 'Open'],
        [{ status: { $exists: true } }, () => true],
        [{ status: { $exists: false } }, () => false],
        [{ nosuchfield: 'x' }, () => false],
        [{ _created: { $gt: all[10]._created } }, (i) => Date.parse(i._created) > Date.parse(all[10]._created)],
        [{ _updated: all[5]._updated }, (i) => i._updated === all[5]._updated],
        [{ _id: all[7]._id }, (i) => i._id === all[7]._id],
        [{ status: 1 }, () => false],
        [{}, () => true],
      ];
      for (const [where, pred] of cases) {
        const body = await page(app, `/tickets?max_results=50&where=${q(JSON.stringify(where))}`);
        t.equal(body._meta.total, count(pred), JSON.stringify(where));
        t.ok(body._items.every(pred), `every item matches ${JSON.stringify(where)}`);
      }
      t.ok(count((i) => i.status === 'Resolved') > 0, 'the data exercises the filters');
    });

    t.test('where: customer ignores case, every other field matches as served', async (t) => {
      const customer = all[0].customer;
      const hit = await page(app, `/tickets?where=${q(JSON.stringify({ customer }))}`);
      t.ok(hit._meta.total >= 1);
      for (const other of [customer.toUpperCase(), customer.toLowerCase()]) {
        const same = await page(app, `/tickets?where=${q(JSON.stringify({ customer: other }))}`);
        t.same(same, { ...hit, _links: same._links }, `${other} selects what ${customer} selects`);
      }
      const status = await page(app, `/tickets?where=${q(JSON.stringify({ status: all[0].status.toUpperCase() }))}`);
      t.equal(status._meta.total, 0, 'status is case-sensitive');
    });

    t.test('where: Python-style expressions equal their JSON twins', async (t) => {
      const pairs: [string, object][] = [
        ['status=="Resolved"', { status: 'Resolved' }],
        ['status==Resolved', { status: 'Resolved' }],
        ["status == 'Open' and customer > 'M'", { status: 'Open', customer: { $gt: 'M' } }],
        [
          '(status=="Open" or status=="Pending") and customer>"M"',
          { $and: [{ $or: [{ status: 'Open' }, { status: 'Pending' }] }, { customer: { $gt: 'M' } }] },
        ],
        ['status != "Open"', { status: { $ne: 'Open' } }],
        ['customer <= "K" or customer >= "W"', { $or: [{ customer: { $lte: 'K' } }, { customer: { $gte: 'W' } }] }],
        ['status == 1', { status: 1 }],
      ];
      for (const [python, json] of pairs) {
        const a = await page(app, `/tickets?max_results=50&where=${q(python)}`);
        const b = await page(app, `/tickets?max_results=50&where=${q(JSON.stringify(json))}`);
        t.same(
          a._items.map((i: Json) => i._id),
          b._items.map((i: Json) => i._id),
          python,
        );
        t.equal(a._meta.total, b._meta.total, python);
      }
    });

    t.test('sort: both forms, stable, unknown fields accepted', async (t) => {
      const byCustomerDesc = [...all].sort((a, b) => (a.customer < b.customer ? 1 : a.customer > b.customer ? -1 : 0));
      const tuple = await page(app, `/tickets?max_results=50&sort=${q('[("customer", -1)]')}`);
      t.same(
        tuple._items.map((i: Json) => i._id),
        byCustomerDesc.slice(0, 50).map((i) => i._id),
      );
      const comma = await page(app, '/tickets?max_results=50&sort=-customer');
      t.same(comma._items, tuple._items);
      // Array.prototype.sort is stable, so ties keep dataset order here as they must there.
      const byStatusThenCustomerDesc = [...all].sort(
        (a, b) =>
          (a.status < b.status ? -1 : a.status > b.status ? 1 : 0) ||
          (a.customer < b.customer ? 1 : a.customer > b.customer ? -1 : 0),
      );
      for (const s of [`[('status', 1), ("customer", -1)]`, 'status, -customer', 'status,-customer']) {
        const both = [
          ...(await page(app, `/tickets?max_results=50&sort=${q(s)}`))._items,
          ...(await page(app, `/tickets?max_results=50&page=2&sort=${q(s)}`))._items,
        ];
        t.same(
          both.map((i: Json) => i._id),
          byStatusThenCustomerDesc.map((i) => i._id),
          s,
        );
      }
      const byStatus = [...all].sort((a, b) => (a.status < b.status ? -1 : a.status > b.status ? 1 : 0));
      const stable = await page(app, '/tickets?max_results=50&sort=status');
      t.same(
        stable._items.map((i: Json) => i._id),
        byStatus.slice(0, 50).map((i) => i._id),
        'ties keep dataset order',
      );
      const byCreated = [...all].sort((a, b) => Date.parse(a._created) - Date.parse(b._created));
      t.same(
        (await page(app, '/tickets?max_results=50&sort=_created'))._items.map((i: Json) => i._id),
        byCreated.slice(0, 50).map((i) => i._id),
        'dates sort as dates',
      );
      for (const s of ['nosuchfield', '-nosuchfield', '']) {
        t.same(
          (await page(app, `/tickets?max_results=50&sort=${s}`))._items.map((i: Json) => i._id),
          all.slice(0, 50).map((i) => i._id),
          `sort=${s}`,
        );
      }
    });

    t.test('projection', async (t) => {
      const only = await page(app, `/tickets?projection=${q('{"customer": 1}')}`);
      t.same(Object.keys(only._items[0]), ['customer', '_id', '_updated', '_created', '_etag', '_links']);
      t.equal(only._items[0].customer, all[0].customer);
      const without = await page(app, `/tickets?projection=${q('{"customer": 0, "product": 0, "nosuch": 0}')}`);
      t.same(Object.keys(without._items[0]), ['status', '_id', '_updated', '_created', '_etag', '_links']);
      const keepAlways = await page(app, `/tickets?projection=${q('{"_id": 0, "_etag": 0, "status": 1}')}`);
      t.same(Object.keys(keepAlways._items[0]), ['status', '_id', '_updated', '_created', '_etag', '_links']);
      const item = await page(app, `/tickets/${all[0]._id}?projection=${q('{"product": 1}')}`);
      t.same(Object.keys(item), ['product', '_id', '_updated', '_created', '_etag', '_links']);
    });

    t.test('embedded is accepted and changes nothing; pretty indents by four', async (t) => {
      const plain = await get(app, '/tickets?max_results=2');
      const embedded = await get(app, `/tickets?max_results=2&embedded=${q('{"customer": 1}')}`);
      t.equal(embedded.body, plain.body);
      const pretty = await get(app, '/tickets?max_results=2&pretty');
      t.equal(pretty.body, JSON.stringify(JSON.parse(pretty.body), null, 4));
      t.match(pretty.body, /^\{\n {4}"_items": \[\n {8}\{\n {12}"customer"/);
      t.same(pretty.json()._items, plain.json()._items);
      const prettyValue = await get(app, '/tickets?max_results=2&pretty=1');
      t.equal(prettyValue.json()._links.next.href, 'tickets?max_results=2&page=2&pretty=1');
    });

    t.test('one ticket', async (t) => {
      const ticket = all[42];
      const res = await get(app, `/tickets/${ticket._id}?max_results=3&foo=bar`);
      t.equal(res.statusCode, 200);
      const body = res.json();
      t.same(Object.keys(body), ITEM_KEYS);
      t.same(Object.keys(body._links), ['self', 'parent', 'collection']);
      t.same(body._links, {
        self: { title: 'Ticket', href: `tickets/${ticket._id}` },
        parent: { title: 'home', href: '/' },
        collection: { title: 'tickets', href: 'tickets?max_results=3&foo=bar' },
      });
      const { _links, ...fields } = body;
      const { _links: _l, ...listed } = ticket;
      t.same(fields, listed);
      t.equal(res.headers.etag, `"${ticket._etag}"`);
      t.equal(res.headers['last-modified'], ticket._updated);
      t.equal(res.headers['x-ecadraft-version'], version);
      t.equal((await get(app, `/tickets/${ticket._id}/`)).statusCode, 200, 'trailing slash');
      for (const id of [ticket._id.toUpperCase(), '00000000-0000-4000-8000-000000000000', 'abc', `${ticket._id}0`]) {
        const miss = await get(app, `/tickets/${id}`);
        t.equal(miss.statusCode, 404, id);
        t.same(miss.json(), { _status: 'ERR', _error: { code: 404, message: NOT_FOUND } });
      }
    });

    t.test('conditional requests', async (t) => {
      const ticket = all[1];
      const url = `/tickets/${ticket._id}`;
      const etag = `"${ticket._etag}"`;
      const updated = Date.parse(ticket._updated);
      const date = (ms: number) => new Date(ms).toUTCString();
      const cases: [Record<string, string>, number][] = [
        [{ 'if-none-match': etag }, 304],
        [{ 'if-none-match': `W/${etag}` }, 304],
        [{ 'if-none-match': `"nope", ${etag}` }, 304],
        [{ 'if-none-match': '*' }, 304],
        [{ 'if-none-match': '"nope"' }, 200],
        [{ 'if-modified-since': date(updated) }, 304],
        [{ 'if-modified-since': date(updated - 1000) }, 304],
        [{ 'if-modified-since': date(updated - 2000) }, 200],
        [{ 'if-modified-since': 'yesterday-ish' }, 200],
        [{ 'if-none-match': etag, 'if-modified-since': date(updated) }, 304],
        [{ 'if-none-match': etag, 'if-modified-since': date(updated - 5000) }, 200],
        [{ 'if-none-match': '"nope"', 'if-modified-since': date(updated) }, 200],
        [{ 'if-none-match': etag, 'if-modified-since': 'garbage' }, 304],
      ];
      for (const [headers, status] of cases) {
        const res = await get(app, url, headers);
        t.equal(res.statusCode, status, JSON.stringify(headers));
        if (status === 304) {
          t.equal(res.body, '');
          t.equal(res.headers.etag, etag);
        }
      }
      const list = await get(app, '/tickets?max_results=7');
      const again = await get(app, '/tickets?max_results=7', { 'if-none-match': list.headers.etag as string });
      t.equal(again.statusCode, 304, 'collections answer 304 too');
      t.equal(again.body, '');
      t.equal(again.headers.etag, list.headers.etag);
      const other = await get(app, '/tickets?max_results=8', { 'if-none-match': list.headers.etag as string });
      t.equal(other.statusCode, 200, 'another page has another ETag');
      const head = await app.request({ method: 'HEAD', url, headers: { 'if-none-match': etag } });
      t.equal(head.statusCode, 304, 'HEAD follows the same rules');
    });

    t.test('HEAD answers as GET without a body', async (t) => {
      for (const url of ['/', '/tickets?max_results=3', `/tickets/${all[2]._id}`, '/tickets/abc', '/version']) {
        const g = await get(app, url);
        const h = await app.request({ method: 'HEAD', url });
        t.equal(h.statusCode, g.statusCode, url);
        t.equal(h.body, '', url);
        t.equal(h.headers['content-length'], String(g.rawPayload.length), url);
        for (const name of ['content-type', 'etag', 'last-modified', 'x-total-count', 'x-ecadraft-version']) {
          t.equal(h.headers[name], g.headers[name], `${url} ${name}`);
        }
      }
    });

    t.test('OPTIONS, 405 with Allow, 404, trailing slash, case', async (t) => {
      for (const url of ['/', '/tickets', `/tickets/${all[0]._id}`, '/tickets/']) {
        const o = await app.request({ method: 'OPTIONS', url });
        t.ok([200, 204].includes(o.statusCode), url);
        t.equal(o.body, '');
        t.equal(o.headers.allow, 'GET, HEAD, OPTIONS');
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
          const res = await app.request({
            method,
            url,
            headers: { 'content-type': 'application/json' },
            body: '{"a":1}',
          });
          t.equal(res.statusCode, 405, `${method} ${url}`);
          t.equal(res.headers.allow, 'GET, HEAD, OPTIONS');
          t.same(res.json(), {
            _status: 'ERR',
            _error: { code: 405, message: 'The method is not allowed for the requested URL.' },
          });
        }
      }
      for (const url of ['/Tickets', '/TICKETS/', '/nope', '/tickets/a/b', '/tickets.json']) {
        const res = await get(app, url);
        t.equal(res.statusCode, 404, url);
        t.same(res.json(), { _status: 'ERR', _error: { code: 404, message: NOT_FOUND } });
        t.equal(res.headers['x-ecadraft-version'], version);
      }
      const slash = await get(app, '/tickets/?max_results=4');
      t.equal(slash.statusCode, 200, 'served directly, no redirect');
      t.equal(slash.body, (await get(app, '/tickets?max_results=4')).body);
    });

    t.test('errors have the Eve shape and say what was wrong', async (t) => {
      const cases: [string, RegExp][] = [
        ['where=5', /^Unable to parse `where` clause/],
        [`where=${q('{"status": {"$regex": "O.*"}}')}`, /^Query contains operators banned: \$regex$/],
        [`where=${q('{"$where": "1"}')}`, /^Query contains operators banned: \$where$/],
        [`where=${q('{"status": {"$foo": 1}}')}`, /^Query contains unknown or unsupported operators: \$foo$/],
        [`where=${q('not status=="Open"')}`, /^Unable to parse `where` clause: .*not/],
        [`where=${q('status in ["Open"]')}`, /^Unable to parse `where` clause/],
        [`where=${q('{"status": ')}`, /^Unable to parse `where` clause/],
        [`where=${'('.repeat(40)}a==1${')'.repeat(40)}`, /nested deeper than 32/],
        [`where=${q(JSON.stringify({ customer: 'x'.repeat(5000) }))}`, /longer than 4096/],
        ['sort=status,', /^Unable to parse `sort`/],
        [`sort=${q('[("status", 2)]')}`, /direction/],
        [`sort=${q('[("status" 1)]')}`, /^Unable to parse `sort`/],
        ['projection=[1]', /^Unable to parse `projection`/],
        ['projection=nope', /^Unable to parse `projection`/],
        ['embedded=1', /^Unable to parse `embedded`/],
      ];
      cases.push([`where=${q('{"status": {"$in": {}}}')}`, /\$in needs an array/]);
      for (const [query, message] of cases) {
        const item = await get(app, `/tickets/${all[0]._id}?${query}`);
        t.equal(item.statusCode, 400, `the item refuses it too: ${query}`);
        const res = await get(app, `/tickets?${query}`);
        t.equal(res.statusCode, 400, query);
        t.same(Object.keys(res.json()), ['_status', '_error'], query);
        t.equal(res.json()._status, 'ERR');
        t.equal(res.json()._error.code, 400);
        t.match(res.json()._error.message, message, query);
        t.equal(res.headers['x-ecadraft-version'], version);
      }
    });
  });
}

t.test('the versions differ only in the customer text', async (t) => {
  const [v1, v2] = await Promise.all(VERSIONS.map(async (v) => page(await appFor(v), '/tickets?max_results=50')));
  t.equal(v1._items.length, 50);
  v1._items.forEach((a: Json, n: number) => {
    const b = v2._items[n];
    t.equal(a.customer.toUpperCase(), b.customer);
    for (const key of ['status', 'product', '_id', '_updated', '_created']) t.equal(a[key], b[key]);
    t.equal(a._etag === b._etag, a.customer === b.customer, 'ETags differ exactly where the customer text does');
  });
});
