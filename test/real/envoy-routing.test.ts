// The walkthrough's routing files through a real Envoy, configured from them
// as Istio configures its ingress gateway (src/demo/envoy-config.ts), in front of
// real ecadraft processes, two pods per version: the canary gate
// (`ecadraft split --expect`) at every step, the header canary and the mirror.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { routeWeights } from '../../src/demo/weighted-proxy.ts';
import { cli, expectation, wrong } from '../helpers/canary.ts';
import { Envoy, needEnvoy, sendMany, servedCount, startMesh, stepFile, tallyAnswers } from '../helpers/envoy.ts';

const STEPS = ['v1', '90-10', '50-50', 'v2'];

t.test('envoy --mode validate accepts the configuration of every routing file', async (t) => {
  if (!needEnvoy(t)) return;
  for (const step of [...STEPS, 'header-canary', 'mirror']) {
    t.match(Envoy.validate({ routes: stepFile(step) }), /configuration .* OK/, step);
  }
  // A route to a subset the DestinationRule does not name is what Istio would blackhole; Envoy refuses it.
  const dir = os.tmpdir();
  const broken = path.join(dir, `ecadraft-vs-v3-${process.pid}.yaml`);
  writeFileSync(broken, readFileSync(stepFile('v2'), 'utf8').replaceAll('subset: v2', 'subset: v3'));
  t.teardown(() => writeFileSync(broken, ''));
  t.throws(() => Envoy.validate({ routes: broken }), /validate failed/, 'and refuses a route to an unknown subset');
});

t.test(
  'every walkthrough step: the split gate passes at its weights through Envoy, and fails at wrong ones',
  async (t) => {
    if (!needEnvoy(t)) return;
    const mesh = await startMesh(t);
    for (const step of STEPS) {
      await mesh.envoy.route(stepFile(step));
      const routes = routeWeights(stepFile(step));
      const args = ['split', '--requests', '400', '--concurrency', '8', '--confidence', '0.999', '--json'];
      const right = await cli(t, [...args, '--expect', expectation(routes), `${mesh.url}/tickets`]);
      const report = JSON.parse(right.stdout) as { versions: { version: string; count: number }[] };
      const counts = report.versions.map((v) => `${v.version}=${v.count}`).join(' ');
      t.equal(right.code, 0, `${step}: --expect ${expectation(routes)} passes (${counts} of 400)`);
      const bad = await cli(t, [...args, '--expect', wrong(routes), `${mesh.url}/tickets`]);
      t.equal(bad.code, 1, `${step}: --expect ${wrong(routes)} fails`);
    }
  },
);

t.test('header canary: x-canary: true reaches v2 only, everyone else v1', async (t) => {
  if (!needEnvoy(t)) return;
  const mesh = await startMesh(t, { step: 'header-canary' });
  const url = `${mesh.url}/tickets?max_results=1`;
  const canary = tallyAnswers(await sendMany(url, 100, { 'x-canary': 'true' }));
  const others = tallyAnswers(await sendMany(url, 100));
  const near = tallyAnswers(await sendMany(url, 50, { 'x-canary': 'yes' }));
  t.comment(
    `with the header: ${JSON.stringify(canary)}; without: ${JSON.stringify(others)}; x-canary: yes: ${JSON.stringify(near)}`,
  );
  t.same(canary, { '200 v2': 100 }, 'with the header: v2 only');
  t.same(others, { '200 v1': 100 }, 'without it: v1 only');
  t.same(near, { '200 v1': 50 }, 'an exact match: another value goes to v1');
});

t.test('mirror: v2 gets a copy of every request, clients see only v1', async (t) => {
  if (!needEnvoy(t)) return;
  const mesh = await startMesh(t, { step: 'mirror' });
  const v2 = mesh.pods.filter((p) => p.subset === 'v2');
  const v2Before = (await Promise.all(v2.map((p) => servedCount(p, '/tickets')))).reduce((a, b) => a + b, 0);
  const n = 200;
  const answers = tallyAnswers(await sendMany(`${mesh.url}/tickets?max_results=1`, n));
  t.same(answers, { '200 v1': n }, `clients: ${n} answers, every one from v1`);
  // Envoy sends the copies on its own and discards the answers: wait for them to arrive.
  const deadline = Date.now() + 10_000;
  let mirrored = 0;
  while (Date.now() < deadline) {
    mirrored = (await Promise.all(v2.map((p) => servedCount(p, '/tickets')))).reduce((a, b) => a + b, 0) - v2Before;
    if (mirrored >= n) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const perPod = await Promise.all(v2.map((p) => servedCount(p, '/tickets')));
  t.comment(`v2's /metrics: ${mirrored} mirrored requests (${perPod.join(' + ')} over its two pods)`);
  t.equal(mirrored, n, 'v2 counted one copy of each request (mirrorPercentage 100)');
  t.ok(
    perPod.every((c) => c > 0),
    'spread over both v2 pods',
  );
});
