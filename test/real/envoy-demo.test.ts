// `npm run demo` with Envoy installed: Envoy is the gateway, and the routing
// files the built-in proxy cannot apply (the header canary, the mirror) work.
import t from 'tap';
import { printed, startDemo } from '../helpers/demo.ts';
import { needEnvoy, sendMany, servedCount, tallyAnswers } from '../helpers/envoy.ts';

t.test('the demo behind Envoy: the header canary and the mirror, typed by name', async (t) => {
  if (!needEnvoy(t)) return;
  const demo = startDemo(t, ['--port', '0', '--step', 'header-canary']);
  const gateway = await printed(demo, 'gateway');
  const v2 = await printed(demo, 'v2');
  t.match(demo.stdout, /^ecadraft demo: v1 and v2 behind Envoy \(/m, 'says Envoy is the gateway');
  t.match(
    demo.stdout,
    /routes x-canary=true: v2=100; v1=100 {2}\(kubernetes\/ecadraft-virtual-service-header-canary\.yaml\)/,
    'starts at the header canary',
  );
  const url = `${gateway}/tickets?max_results=1`;
  t.same(tallyAnswers(await sendMany(url, 20, { 'x-canary': 'true' })), { '200 v2': 20 }, 'x-canary: true goes to v2');
  t.same(tallyAnswers(await sendMany(url, 20)), { '200 v1': 20 }, 'the rest to v1');

  const before = demo.stdout.length;
  demo.child.stdin!.write('mirror\n');
  await demo.waitFor(
    'the mirror applied',
    () => (/^routes v1=100 mirror 100% to v2 /m.test(demo.stdout.slice(before)) ? true : undefined),
    20_000,
  );
  const pod = { subset: 'v2', url: v2 };
  const mirroredBefore = await servedCount(pod, '/tickets');
  t.same(tallyAnswers(await sendMany(url, 20)), { '200 v1': 20 }, 'with the mirror, clients see v1 only');
  const deadline = Date.now() + 10_000;
  while ((await servedCount(pod, '/tickets')) - mirroredBefore < 20 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal((await servedCount(pod, '/tickets')) - mirroredBefore, 20, 'and v2 gets a copy of each');

  demo.signal('SIGINT');
  t.equal((await demo.waitForExit(20_000)).code, 0, `exit 0 on Ctrl-C\n${demo.output()}`);
});
