// /openapi.json tells the truth: a valid OpenAPI document (checked by a real
// validator against the OpenAPI Initiative's schemas), whose every documented
// route and status is produced by a real request and the answer validated
// against its documented body and headers, and whose examples are real
// answers of the default data.
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { Draining } from '../src/draining.ts';
import { EXAMPLES, type Example, FAULT_EXAMPLE, METRICS_EXAMPLE } from '../src/examples.ts';

// ajv-formats is CommonJS: its default export arrives as the module object or the plugin itself.
const addFormats = ((addFormatsPlugin as unknown as { default?: unknown }).default ?? addFormatsPlugin) as unknown as (
  ajv: Ajv,
) => Ajv;

const silent = { LOG_LEVEL: 'silent' };
/** The default data, as the examples are: v1, default seed and count. */
const app = await buildApp(loadConfig(silent));
const listening = await buildApp(loadConfig(silent));
await listening.listen({ port: 0, host: '127.0.0.1' });
const draining = new Draining();
const drainingApp = await buildApp(loadConfig({ ...silent, VERSION: 'v2' }), { draining });
draining.active = true;
const faulty = await buildApp(loadConfig({ ...silent, FAULT_ERROR_RATE: '1' }));
t.teardown(() => Promise.all([app, listening, drainingApp, faulty].map((a) => a.close())));

type Json = Record<string, unknown>;
interface HeaderDoc {
  description?: string;
  required?: boolean;
  schema: Json;
}
interface Media {
  schema: Json;
  example?: unknown;
  examples?: Record<string, { summary: string; value: unknown }>;
}
/** The one example of a media type, given as `example` or as the only entry of `examples`. */
const exampleOf = (media: Media | undefined): unknown =>
  media?.example ?? Object.values(media?.examples ?? {})[0]?.value;

interface ResponseDoc {
  description: string;
  headers?: Record<string, HeaderDoc>;
  content?: Record<string, Media>;
}
interface OperationDoc {
  operationId?: string;
  summary?: string;
  parameters?: { name: string; in: string; schema: Json }[];
  responses: Record<string, ResponseDoc>;
}
interface Document {
  openapi: string;
  info: { description: string };
  paths: Record<string, Record<string, OperationDoc>>;
  components: { schemas: Record<string, Json>; responses: Record<string, ResponseDoc> };
}

const served = await app.inject('/openapi.json');
const doc = served.json() as Document;
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
);

t.test('a valid OpenAPI 3.0 document, by the OpenAPI Initiative schemas', async (t) => {
  t.equal(served.statusCode, 200);
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
  t.ok(result.valid, JSON.stringify(result.errors, null, 2));
  t.equal(validator.version, '3.0');
  // What the schemas cannot say.
  const ids = operations.map((o) => o.operation.operationId);
  t.ok(
    ids.every((id) => typeof id === 'string' && id.length > 0),
    'every operation has an operationId',
  );
  t.equal(new Set(ids).size, ids.length, `operationIds are unique: ${ids.join(', ')}`);
  const text = JSON.stringify(doc);
  t.notMatch(text, /Default Response/, 'every response says what it is');
  t.notMatch(text, /def-\d/, 'shared schemas keep their names');
});

t.test('what the document promises about its responses', async (t) => {
  for (const { path, method, operation } of operations) {
    const label = `${method} ${path}`;
    t.ok(operation.summary, `${label}: a summary`);
    for (const [status, response] of Object.entries(operation.responses)) {
      t.equal(response.headers?.['x-ecadraft-version']?.required, true, `${label} ${status}: names its version`);
      if (status === '304' || method === 'HEAD' || (method === 'OPTIONS' && status === '200')) {
        t.equal(response.content, undefined, `${label} ${status}: no body`);
      } else {
        t.ok(response.content, `${label} ${status}: a body`);
        const media = Object.values(response.content ?? {})[0];
        t.not(exampleOf(media), undefined, `${label} ${status}: a real example, not one generated from the schema`);
      }
    }
  }
  const collection = doc.paths['/tickets']!.get!;
  const params = Object.fromEntries(collection.parameters!.map((p) => [p.name, p.schema]));
  t.equal(params.page?.type, 'integer', 'page is an integer');
  t.equal(params.max_results?.type, 'integer', 'max_results is an integer');
  t.same(
    doc.paths['/tickets/{_id}']!.get!.parameters!.map((p) => `${p.in} ${p.name}`).sort(),
    ['path _id', 'query pretty', 'query projection'],
    'the item documents only the parameters it honours',
  );
  for (const method of ['get', 'head']) {
    t.same(
      Object.keys(doc.paths['/tickets']![method]!.responses['200']!.headers ?? {}).sort(),
      ['ETag', 'Last-Modified', 'X-Total-Count', 'x-ecadraft-version'],
      `${method} /tickets: its validators and count`,
    );
    t.same(
      Object.keys(doc.paths['/tickets/{_id}']![method]!.responses['304']!.headers ?? {}).sort(),
      ['ETag', 'Last-Modified', 'x-ecadraft-version'],
      `${method} /tickets/{_id} 304: its validators`,
    );
  }
  t.equal(doc.paths['/tickets']!.options!.responses['200']!.headers?.Allow?.required, true, 'OPTIONS: Allow');
  t.equal(doc.components.responses.MethodNotAllowed?.headers?.Allow?.required, true, '405: Allow');
  const links = (
    exampleOf(doc.paths['/tickets']!.get!.responses['200']!.content!['application/json']) as { _links: Json }
  )._links;
  t.same(Object.keys(links), ['parent', 'self', 'next', 'last'], 'the _links example is a real one');
});

t.test('parameter schemas never reject a request: Eve is lenient', async (t) => {
  const cases: [string, { page: number; max_results: number }][] = [
    ['/tickets?page=abc&max_results=many', { page: 1, max_results: 25 }],
    ['/tickets?page=-2&max_results=0', { page: 2, max_results: 25 }],
    ['/tickets?page=2.5&max_results=1e400', { page: 1, max_results: 50 }],
    ['/tickets/?max_results=7.9', { page: 1, max_results: 7 }],
  ];
  for (const [url, meta] of cases) {
    const answer = await app.inject(url);
    t.equal(answer.statusCode, 200, url);
    t.match(answer.json()._meta, meta, url);
  }
});

// ---------------------------------------------------------------------------
// Real answers against their documented schemas

const ajv = addFormats(new Ajv({ strict: true, allErrors: true }));
// OpenAPI 3.0 annotations a JSON Schema validator does not know.
ajv.addKeyword('example');

/** OpenAPI's `#/components/schemas/X` references as ajv schema ids. */
const localRefs = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"component:'));
for (const [name, schema] of Object.entries(doc.components.schemas))
  ajv.addSchema(localRefs(schema) as Json, `component:${name}`);
const compiled = new Map<Json, ValidateFunction>();
const validatorOf = (schema: Json) => {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(localRefs(schema) as Json);
    compiled.set(schema, validate);
  }
  return validate;
};

const essence = (contentType: string) => contentType.split(';')[0]!.trim().toLowerCase();

/** Every way a real answer departs from its documented response. */
function departures(response: ResponseDoc, answer: LightMyRequestResponse): string[] {
  const found: string[] = [];
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const value = answer.headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.required) found.push(`header ${name} missing`);
      continue;
    }
    const typed = header.schema.type === 'integer' && /^\d+$/.test(String(value)) ? Number(value) : value;
    const validate = validatorOf(header.schema);
    if (!validate(typed)) found.push(`header ${name}: ${String(value)}: ${ajv.errorsText(validate.errors)}`);
  }
  if (!response.content) {
    if (answer.body !== '') found.push(`a body where none is documented: ${answer.body.slice(0, 80)}`);
    return found;
  }
  const type = String(answer.headers['content-type'] ?? '');
  const media = Object.entries(response.content).find(([documented]) => essence(documented) === essence(type));
  if (!media) return [...found, `content type ${type}, documented ${Object.keys(response.content).join(', ')}`];
  const body = essence(type) === 'application/json' ? JSON.parse(answer.body) : answer.body;
  const validate = validatorOf(media[1].schema);
  if (!validate(body)) found.push(`body: ${ajv.errorsText(validate.errors)}`);
  return found;
}

const ID = EXAMPLES.ticket.url.split('/').pop()!;

interface Probe {
  on?: FastifyInstance;
  url: string;
  headers?: Record<string, string>;
}

/** Requests that give each documented status; several per status where the answer's shape varies. */
function probes(path: string, method: string, status: string, etags: Map<string, string>): Probe[] {
  const eve = ['/', '/tickets', '/tickets/{_id}'].includes(path);
  const concrete = path.replace('{_id}', ID);
  if (status === '500' && eve) return [{ on: faulty, url: concrete }];
  if (method === 'OPTIONS') return status === '200' ? [{ url: concrete }] : [];
  const key = `${path} ${status}`;
  switch (key) {
    case '/ 200':
      return [{ url: '/' }];
    case '/tickets 200':
      return [
        { url: EXAMPLES.collection.url },
        { url: '/tickets' },
        { url: '/tickets?where={"status":"Nope"}' },
        { url: '/tickets?page=9&projection={"customer":1}&pretty' },
        { url: '/tickets?sort=-customer&max_results=50&page=2&x=1' },
      ];
    case '/tickets 304':
      return [{ url: '/tickets?max_results=2', headers: { 'if-none-match': etags.get('/tickets?max_results=2')! } }];
    case '/tickets 400':
      return [{ url: EXAMPLES.badRequest.url }, { url: '/tickets?sort=status,' }, { url: '/tickets?projection=[1]' }];
    case '/tickets/{_id} 200':
      return [{ url: concrete }, { url: `${concrete}?projection={"status":0}&where=x==1&page=3` }];
    case '/tickets/{_id} 304':
      return [
        { url: concrete, headers: { 'if-none-match': etags.get(concrete)! } },
        { url: concrete, headers: { 'if-modified-since': 'Fri, 01 Jan 2100 00:00:00 GMT' } },
      ];
    case '/tickets/{_id} 400':
      return [{ url: EXAMPLES.badItemRequest.url }, { url: `${concrete}?where={"$foo":1}` }];
    case '/tickets/{_id} 404':
      return [{ url: EXAMPLES.notFound.url }, { url: '/tickets/not-an-id' }];
    case '/healthz 200':
    case '/version 200':
    case '/metrics 200':
      return [{ url: path }];
    case '/ui 200':
      return [{ url: path }, { url: path, headers: { 'if-none-match': '"stale"' } }];
    case '/ui 304':
      return [{ url: path, headers: { 'if-none-match': etags.get(path)! } }];
    case '/readyz 200':
      return [{ on: listening, url: path }];
    case '/readyz 503':
      return [{ on: drainingApp, url: path }, { url: path }];
    default:
      return [];
  }
}

t.test('every documented route and status, produced and validated against its schema', async (t) => {
  const etags = new Map<string, string>();
  for (const url of ['/tickets?max_results=2', `/tickets/${ID}`, '/ui'])
    etags.set(url, (await app.inject(url)).headers.etag as string);
  let validated = 0;
  for (const { path, method, operation } of operations) {
    for (const [status, response] of Object.entries(operation.responses)) {
      const requests = probes(path, method, status, etags);
      t.ok(requests.length > 0, `${method} ${path} ${status}: a request that gives it`);
      for (const probe of requests) {
        const answer = await (probe.on ?? app).inject({
          method: method as HTTPMethods,
          url: probe.url,
          headers: probe.headers ?? {},
        });
        const label = `${method} ${probe.url} ${JSON.stringify(probe.headers ?? {})}`;
        t.equal(String(answer.statusCode), status, `${label}: ${status}`);
        t.same(departures(response, answer), [], `${label}: as documented`);
        validated++;
      }
    }
  }
  // The 405 any path gives to a method it does not serve.
  const notAllowed = doc.components.responses.MethodNotAllowed!;
  for (const path of Object.keys(doc.paths)) {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const answer = await app.inject({ method, url: path.replace('{_id}', ID) });
      t.equal(answer.statusCode, 405, `${method} ${path}: 405`);
      t.same(departures(notAllowed, answer), [], `${method} ${path}: as documented`);
      validated++;
    }
  }
  t.comment(`${validated} answers validated`);
});

t.test("the examples are real answers of the default data, and they are the document's", async (t) => {
  const checked: [Example, FastifyInstance][] = Object.values(EXAMPLES).map((example) => [
    example,
    example === EXAMPLES.ready ? listening : example === EXAMPLES.draining ? drainingApp : app,
  ]);
  for (const [example, on] of checked) {
    const answer = await on.inject({ method: example.method, url: example.url });
    const label = `${example.method} ${example.url}`;
    t.equal(answer.statusCode, example.status, `${label}: ${example.status}`);
    t.same(answer.json(), example.body, `${label}: the example's body`);
    for (const [name, value] of Object.entries(example.headers ?? {}))
      t.equal(answer.headers[name], value, `${label}: ${name}`);
  }
  const fault = await faulty.inject('/tickets');
  t.same([fault.statusCode, fault.json()], [FAULT_EXAMPLE.status, FAULT_EXAMPLE.body], 'the fault example');
  t.ok(
    (await app.inject('/metrics')).body.includes(METRICS_EXAMPLE),
    'the metrics example is lines of a real /metrics',
  );

  const mediaExample = (path: string, method: string, status: string) =>
    exampleOf(Object.values(doc.paths[path]![method]!.responses[status]!.content ?? {})[0]);
  t.same(mediaExample('/', 'get', '200'), EXAMPLES.home.body);
  t.same(mediaExample('/tickets', 'get', '200'), EXAMPLES.collection.body);
  t.same(mediaExample('/tickets', 'get', '400'), EXAMPLES.badRequest.body);
  t.same(mediaExample('/tickets/{_id}', 'get', '200'), EXAMPLES.ticket.body);
  t.same(mediaExample('/tickets/{_id}', 'get', '400'), EXAMPLES.badItemRequest.body);
  t.same(mediaExample('/tickets/{_id}', 'get', '404'), EXAMPLES.notFound.body);
  t.same(mediaExample('/version', 'get', '200'), EXAMPLES.version.body);
  t.same(mediaExample('/readyz', 'get', '503'), EXAMPLES.draining.body);
  t.same(mediaExample('/metrics', 'get', '200'), METRICS_EXAMPLE);
  t.same(
    exampleOf(doc.components.responses.MethodNotAllowed!.content!['application/json']),
    EXAMPLES.methodNotAllowed.body,
  );
  t.same(
    Object.keys(doc.paths['/tickets']!.get!.responses['200']!.content!['application/json']!.examples ?? {}),
    [`GET ${EXAMPLES.collection.url}`],
    'each example is named by the request that gives it',
  );
  // Every example also fits the schema it illustrates.
  for (const { path, method, operation } of operations) {
    for (const [status, response] of Object.entries(operation.responses)) {
      for (const media of Object.values(response.content ?? {})) {
        const validate = validatorOf(media.schema);
        t.ok(
          validate(exampleOf(media)),
          `${method} ${path} ${status}: example fits: ${ajv.errorsText(validate.errors)}`,
        );
      }
    }
  }
  t.match(
    doc.info.description,
    /Examples are real answers of v1 on the default data \(SEED 20200714, TICKET_COUNT 100\)/,
  );
});
