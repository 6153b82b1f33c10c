import t from 'tap';
import { Doorkeeper, LruCache } from '../src/lru.ts';

// Weights are the value plus the key's characters and a fixed overhead per entry.
const entry = (key: string, value: string) => value.length + key.length * 2 + 160;

t.test('evicts the least recently used first, by weight', async (t) => {
  const cache = new LruCache<string>(3 * entry('a', 'x'.repeat(100)), (v) => v.length);
  const v = 'x'.repeat(100);
  cache.set('a', v);
  cache.set('b', v);
  cache.set('c', v);
  t.equal(cache.size, 3);
  t.equal(cache.get('a'), v, 'a is now the most recent');
  cache.set('d', v);
  t.equal(cache.get('b'), undefined, 'b was the least recent');
  t.equal(cache.get('a'), v);
  t.equal(cache.get('c'), v);
  t.equal(cache.get('d'), v);
  t.equal(cache.weight, 3 * entry('a', v));
});

t.test('replacing a key re-weighs it; an entry over the bound is not kept', async (t) => {
  const cache = new LruCache<string>(1000, (v) => v.length);
  cache.set('k', 'short');
  cache.set('k', 'x'.repeat(300));
  t.equal(cache.size, 1);
  t.equal(cache.weight, entry('k', 'x'.repeat(300)));
  cache.set('huge', 'x'.repeat(2000));
  t.equal(cache.get('huge'), undefined);
  t.equal(cache.get('k'), 'x'.repeat(300), 'and evicts nothing for it');
  const big = 'y'.repeat(700);
  cache.set('big', big);
  t.equal(cache.get('k'), undefined, 'room is made from the oldest');
  t.equal(cache.get('big'), big);
});

t.test('stays consistent through many hits and evictions', async (t) => {
  const cache = new LruCache<number>(50 * (8 + 2 * 4 + 160), () => 8);
  const model: string[] = [];
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 5000; i++) {
    const key = `k${String(Math.floor(random() * 120)).padStart(3, '0')}`;
    const at = model.indexOf(key);
    if (random() < 0.5) {
      const hit = cache.get(key);
      t.equal(hit !== undefined, at >= 0, `get ${key}`);
      if (at >= 0) model.push(...model.splice(at, 1));
    } else {
      cache.set(key, i);
      if (at >= 0) model.splice(at, 1);
      model.push(key);
      if (model.length > 50) model.shift();
    }
    if (cache.size !== model.length) t.fail(`size ${cache.size} != ${model.length}`);
  }
});

t.test('the doorkeeper admits a key on its second sighting', async (t) => {
  const door = new Doorkeeper(1 << 10);
  t.notOk(door.admit('/tickets?where=a'), 'first sighting');
  t.ok(door.admit('/tickets?where=a'), 'second sighting');
  t.ok(door.admit('/tickets?where=a'), 'and after');
  let admittedOnce = 0;
  for (let i = 0; i < 500; i++) if (door.admit(`/tickets?n=${i}`)) admittedOnce++;
  t.ok(admittedOnce < 5, `one-off keys are not admitted (${admittedOnce} collisions of 500)`);
});
