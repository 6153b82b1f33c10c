// The split Job gate of kubernetes/argo-rollouts/, as the real Argo Rollouts
// controller creates it on the local control plane: its pod runs for real
// through the pod runner (kwok's stages never fake its end), and its command
// line, args substituted by the controller, measures a v1 and a v2 behind a
// weighted proxy. The local plane has no mesh, so `http://ecadraft` resolves
// nowhere there: the gate fails every release, as it would on a cluster
// without Istio, and the command is run again here against the proxy.
import path from 'node:path';
import t from 'tap';
import type { KubeObject } from '../cluster/kube-api.ts';
import { clusterFor, freshNamespace, waitForObject } from '../cluster/kubectl.ts';
import { deployV1, release, waitForRollout } from '../cluster/rollout.ts';
import { cli } from '../helpers/canary.ts';
import { CLI_SCRIPT, ROOT, startServer } from '../helpers/process.ts';
import { startWeightedProxy } from '../helpers/weighted-proxy.ts';

t.test("the split Job as the controller runs it: a real pod, and the real command's verdict", async (t) => {
  const kubectl = await clusterFor(t, { prometheus: true });
  if (kubectl === undefined) return;
  const namespace = await freshNamespace(t, kubectl, 'rollout-split');
  await deployV1(kubectl, namespace, { splitGate: true });
  await release(kubectl, namespace, 'v2');

  const jobs = await waitForObject(
    kubectl.api,
    `/apis/batch/v1/namespaces/${namespace}/jobs`,
    'the split Job to finish',
    (list) => list.items?.some((j: KubeObject) => j.status?.succeeded || j.status?.failed),
  );
  const job = jobs.items.find((j: KubeObject) => j.status?.succeeded || j.status?.failed) as KubeObject;
  const pods = await kubectl.api.get(
    `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`job-name=${job.metadata.name}`)}`,
  );
  const pod = pods?.items?.[0];
  const exit = pod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
  t.equal(pod?.status?.phase, 'Failed', 'its pod ran for real and failed: no mesh resolves http://ecadraft here');
  t.equal(exit, 2, 'exit code 2, as `ecadraft split` gives on errors');
  const rollout = await waitForRollout(kubectl, namespace, 'the abort', (s) => s.abort === true);
  t.match(rollout.status.message, /split/, `the split metric aborted it: ${rollout.status.message}`);

  // The command line the controller wrote, run as the image would (node
  // <script> from the package root), against the weighted proxy.
  const command: string[] = job.spec.template.spec.containers[0].command;
  t.same(command.slice(0, 3), ['node', 'dist/cli/ecadraft.js', 'split']);
  t.equal(path.resolve(ROOT, command[1] ?? ''), CLI_SCRIPT);
  t.equal(command.at(-1), 'http://ecadraft/tickets');
  t.ok(command.includes('v1=90,v2=10'), `the first gate expects 90/10: ${command.join(' ')}`);
  const [v1, v2] = await Promise.all([
    startServer(t, { VERSION: 'v1' }, { readyTimeoutMs: 60_000 }),
    startServer(t, { VERSION: 'v2' }, { readyTimeoutMs: 60_000 }),
  ]);
  const runAt = async (canaryWeight: number) => {
    const proxy = await startWeightedProxy(
      [
        { name: 'v1', url: v1.url, weight: 100 - canaryWeight },
        { name: 'v2', url: v2.url, weight: canaryWeight },
      ],
      { seed: 20200714 },
    );
    t.teardown(() => proxy.close());
    return cli(t, [...command.slice(2, -1), `${proxy.url}/tickets`], undefined, 100_000);
  };
  const [right, wrong] = await Promise.all([runAt(10), runAt(50)]);
  t.equal(right.code, 0, 'at 90/10 it passes', { stdout: right.stdout, stderr: right.stderr });
  t.match(right.stdout, 'expect v1=90%, v2=10%: ok');
  t.equal(wrong.code, 1, 'at 50/50 it fails', { stdout: wrong.stdout, stderr: wrong.stderr });
  t.match(wrong.stdout, 'expect v1=90%, v2=10%: FAILED');
});
