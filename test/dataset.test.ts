import { createHash } from 'node:crypto';
import t from 'tap';
import { DEFAULT_SEED } from '../src/config.ts';
import { etagAt, findById, generateDataset, idAt, STATUSES, ticketHead } from '../src/dataset.ts';
import { FORMATTERS } from '../src/versions.ts';

const v1 = generateDataset(500, 99, FORMATTERS.v1.format);

t.test('the same seed gives the same tickets, in any process', async (t) => {
  const again = generateDataset(500, 99, FORMATTERS.v1.format);
  for (let i = 0; i < 500; i++)
    t.equal(`${ticketHead(again, i)}${etagAt(again, i)}`, `${ticketHead(v1, i)}${etagAt(v1, i)}`);
  const other = generateDataset(500, 100, FORMATTERS.v1.format);
  t.not(idAt(other, 0), idAt(v1, 0), 'another seed, other tickets');
  t.ok(new Set(v1.customers).size < v1.count, 'customers have several tickets each');
});

// During a rollout the stable pods run the last release and the canary this one: both must
// serve the same tickets. These digests were taken from the release before generateDataset
// stopped calling faker.number.int for every draw; a change to them changes every pod's data.
t.test('the default seed gives the same tickets as earlier releases', async (t) => {
  const digestOf = (count: number, version: 'v1' | 'v2') => {
    const data = generateDataset(count, DEFAULT_SEED, FORMATTERS[version].format);
    const hash = createHash('sha1');
    for (let i = 0; i < count; i++) hash.update(`${ticketHead(data, i)},"_etag":"${etagAt(data, i)}"}\n`);
    return hash.digest('hex');
  };
  t.equal(digestOf(1, 'v1'), 'c4ed9ce7a33a4a431308071aa879f25d2615d6ba', 'one ticket: pools of one, no draw for them');
  t.equal(digestOf(1000, 'v1'), '06d86fec43d0f03702b42bfc9da4a18bcaf442ca');
  t.equal(digestOf(1000, 'v2'), '5eb908a3efcd64d29b808b577b30450ac2e1c6f2');
});

t.test('versions differ only in the customer text', async (t) => {
  const v2 = generateDataset(500, 99, FORMATTERS.v2.format);
  let differ = 0;
  for (let i = 0; i < 500; i++) {
    t.equal(v2.customers[i], FORMATTERS.v2.format(v1.customers[i]!));
    const strip = (s: string) => s.replace(/"customer":"[^"]*"/, '');
    t.equal(strip(ticketHead(v2, i)), strip(ticketHead(v1, i)));
    if (v1.customers[i] !== v2.customers[i]) {
      differ++;
      t.not(etagAt(v1, i), etagAt(v2, i));
    }
  }
  t.ok(differ > 0);
});

t.test('fields: statuses, ids, dates from a fixed reference, ETags', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < v1.count; i++) {
    const ticket = JSON.parse(`${ticketHead(v1, i)}}`);
    seen.add(ticket.status);
    t.ok((STATUSES as readonly string[]).includes(ticket.status));
    t.match(ticket._id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    t.ok(v1.updated[i]! >= v1.created[i]!);
    t.ok(v1.updated[i]! <= Date.UTC(2024, 0, 1) / 1000, 'never later than the reference date');
    t.equal(etagAt(v1, i), createHash('sha1').update(JSON.stringify(ticket)).digest('hex'));
    t.equal(etagAt(v1, i), etagAt(v1, i), 'computed once, then remembered');
    t.equal(findById(v1, ticket._id), i);
  }
  t.equal(seen.size, STATUSES.length, 'every status occurs');
  t.ok(
    v1.customers.some((c) => / - |, | And /.test(c)),
    'company names with hyphens, commas and "and"',
  );
  t.equal(findById(v1, '00000000-0000-4000-8000-000000000000'), -1);
  t.equal(findById(v1, 'zz'), -1);
});
