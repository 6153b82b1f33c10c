// The split Job of the Rollout's gates (kubernetes/argo-rollouts/analysis.yaml),
// its exact command line run here as the image runs it: the container's
// command of each gate's AnalysisRun, args substituted as Argo does, against
// a v1 and a v2 server behind the weighted proxy that stands in for the mesh.
// It must pass at the weights of its gate and fail at a wrong split. (Its
// own file: four runs of 1000 requests are most of what it costs.)
import path from 'node:path';
import t from 'tap';
import { cli } from '../helpers/canary.ts';
import { CLI_SCRIPT, ROOT, startServer } from '../helpers/process.ts';
import { analysisRun, readRelease, readRollout, releasedRollout, weightAt } from '../helpers/rollouts.ts';
import { startWeightedProxy } from '../helpers/weighted-proxy.ts';

const { rollout, templates } = readRollout(ROOT);

t.test('the split Job passes at the weights of its step and fails at wrong ones', async (t) => {
  // Processes of their own, so that the four runs side by side do not queue
  // in this one; a generous bound, as the suite runs other files beside this.
  const [v1, v2] = await Promise.all([
    startServer(t, { VERSION: 'v1' }, { readyTimeoutMs: 60_000 }),
    startServer(t, { VERSION: 'v2' }, { readyTimeoutMs: 60_000 }),
  ]);
  const released = releasedRollout(rollout, readRelease(ROOT, 'v2.json'), 'default');
  const steps = released.spec.strategy?.canary?.steps ?? [];

  /** The Job's container command for this step, with its url arg pointed at `url` as a Rollout could. */
  const commandFor = (stepIndex: number, url: string): string[] => {
    const analysis = structuredClone(steps[stepIndex]?.analysis);
    if (!analysis) throw new Error(`step ${stepIndex} has no analysis`);
    analysis.args = [...(analysis.args ?? []), { name: 'url', value: url }];
    const split = analysisRun(released, analysis, templates).metrics.find((m) => m.provider.job);
    return split?.provider.job?.spec.template.spec?.containers[0]?.command ?? [];
  };
  /** Runs it as the image would: `node <script>` from the package root (the image's working directory). */
  const run = (command: string[]) => {
    t.equal(command[0], 'node');
    t.equal(path.resolve(ROOT, command[1] ?? ''), CLI_SCRIPT);
    return cli(t, command.slice(2), undefined, 100_000);
  };
  const proxyAt = async (canaryWeight: number) => {
    const proxy = await startWeightedProxy(
      [
        { name: 'v1', url: v1.url, weight: 100 - canaryWeight },
        { name: 'v2', url: v2.url, weight: canaryWeight },
      ],
      { seed: 20200714 },
    );
    t.teardown(() => proxy.close());
    return proxy;
  };

  const gates = [...steps.entries()].filter(([, step]) => step.analysis).map(([i]) => i);
  t.equal(gates.length, 3);
  // Each gate at its own weights, and the first gate once more where Envoy
  // has not taken the new weights and still splits 50/50; side by side, as
  // each run mostly waits on the servers.
  const runs = await Promise.all(
    [...gates.map((i) => [i, weightAt(steps, i)] as const), [gates[0] ?? -1, 50] as const].map(async ([i, split]) => {
      const proxy = await proxyAt(split);
      return run(commandFor(i, `${proxy.url}/tickets`));
    }),
  );
  for (const [n, i] of gates.entries()) {
    const right = runs[n];
    const weight = weightAt(steps, i);
    t.equal(right?.code, 0, `step ${i} at ${weight}% passes\n${right?.stdout}${right?.stderr}`);
    t.match(right?.stdout, `expect v1=${100 - weight}%, v2=${weight}%: ok`);
  }
  const failed = runs[gates.length];
  t.equal(failed?.code, 1, `a split that is not 90/10 fails\n${failed?.stdout}${failed?.stderr}`);
  t.match(failed?.stdout, 'expect v1=90%, v2=10%: FAILED');
  t.match(failed?.stderr, /ecadraft: v2 is off by \+\d+\.\d points: measured .*, expected 10(\.0)?%/);
});
