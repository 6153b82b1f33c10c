// Every file or folder of the repository the README and docs/ name in code
// spans exists: a file moved or renamed must take its mentions with it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
/** A path in a code span, under one of the repository's top-level folders. */
const MENTION = /`(\.?(?:src|test|bench|kubernetes|charts|docs|\.ci)\/[^`\s]+)`/g;
/** Placeholders and patterns name no one file: `http-<timestamp>.json`, `src/*.ts`. */
const PATTERN = /[<>*{}]/;

t.test('every repository path the docs name exists', async (t) => {
  let checked = 0;
  for (const doc of DOCS) {
    const text = readFileSync(path.join(ROOT, doc), 'utf8');
    for (const [, mention] of text.matchAll(MENTION)) {
      if (PATTERN.test(mention!)) continue;
      checked++;
      if (!existsSync(path.join(ROOT, mention!))) t.fail(`${doc} names ${mention}, which does not exist`);
    }
  }
  t.ok(checked > 100, `${checked} mentions checked`);
});
