// The README's configuration table is the table src/config.ts reads from:
// same variables, same order, same defaults, accepted values and meanings. And
// the table really drives the reading: each default reads as the default, and
// each variable's error says what the table says it accepts.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError, loadConfig, VARIABLES } from '../src/config.ts';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The rows of the first table under a `## heading`, as trimmed cells. */
function tableUnder(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const next = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  const lines = section.split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  if (first < 0) throw new Error(`no table under "## ${heading}"`);
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
  return lines
    .slice(first, end < 0 ? undefined : end)
    .map((line) => line.replace(/^\|\s*|\s*\|$/g, '').split(/\s*\|\s*/));
}

t.test("README's configuration table is src/config.ts's table", async (t) => {
  const [header, rule, ...rows] = tableUnder(README, 'Configuration');
  t.same(header, ['variable', 'default', 'accepted', 'meaning']);
  t.ok(
    rule?.every((cell) => /^-+$/.test(cell)),
    'then the separator row',
  );
  const expected = Object.values(VARIABLES).map((v) => [`\`${v.name}\``, `\`${v.default}\``, v.accepts, v.meaning]);
  t.same(rows, expected, 'one row per variable, in order, with its default, accepted values and meaning');
});

t.test('the table drives reading and validation', async (t) => {
  const defaults = loadConfig({});
  for (const [key, variable] of Object.entries(VARIABLES)) {
    t.same(
      loadConfig({ [variable.name]: variable.default }),
      defaults,
      `${variable.name}=${variable.default}, its default as the table writes it, reads as unset`,
    );
    t.same(
      loadConfig({ [variable.name]: '' })[key as keyof typeof defaults],
      defaults[key as keyof typeof defaults],
      `${variable.name}: empty is unset`,
    );
    t.throws(
      () => loadConfig({ [variable.name]: 'x y' }),
      new ConfigError(`invalid ${variable.name}="x y": expected ${variable.accepts}`),
      `${variable.name}: a bad value is refused in the table's words`,
    );
  }
});
