// Every variant the docs describe, applied for real: into a fresh namespace of
// the local control plane (test/cluster/), in the docs' order, once with
// kubectl's client-side apply as the docs run it and once server-side. The API
// server's validation and the CRDs' schemas and CEL rules judge each object;
// the pods become Ready through the pod runner (their real /readyz); the PDBs
// and HPAs are accepted. What needs more than a control plane is left out:
// `kubectl wait` on a gateway's Programmed (istiod programs it), `kubectl
// exec` (a kubelet), the installs from URLs (the CRDs come from the modules).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { clusterFor, freshNamespace, type Kubectl } from '../cluster/kubectl.ts';
import { ROOT } from '../helpers/process.ts';
import { needTools } from '../helpers/tools.ts';

/** What docs/argo-rollouts.md shows `kubectl apply -k kubernetes/argo-rollouts/` print. */
const ARGO_APPLY_OUTPUT = (
  /kubectl apply -k kubernetes\/argo-rollouts\/\n```\n\n```\n([^`]*)```/.exec(
    readFileSync(path.join(ROOT, 'docs/argo-rollouts.md'), 'utf8'),
  )?.[1] ?? ''
)
  .trim()
  .split('\n');
/** The clean-up commands of docs/argo-rollouts.md's step 7 that remove the variant from a namespace. */
const ARGO_CLEANUP = [
  ...readFileSync(path.join(ROOT, 'docs/argo-rollouts.md'), 'utf8').matchAll(/^kubectl delete -[fk] kubernetes\/.*$/gm),
].map((m) => m[0]);
const VERSION: string = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

type Step = { apply: string[] } | { label: string } | { ready: string };

const VS = (name: string): Step => ({ apply: [`kubernetes/ecadraft-virtual-service-${name}.yaml`] });
const ROUTE = (dir: string, name: string): Step => ({ apply: [`kubernetes/${dir}/httproute-${name}.yaml`] });

/** Each variant's steps, in the order of docs/istio.md and docs/argo-rollouts.md. */
const VARIANTS: Record<string, Step[]> = {
  'istio-api': [
    { label: 'istio-injection=enabled' },
    { apply: ['kubernetes/ecadraft1.yaml'] },
    { ready: 'deployment/ecadraft-v1' },
    VS('v1'),
    { apply: ['kubernetes/ecadraft2.yaml'] },
    { ready: 'deployment/ecadraft-v2' },
    VS('50-50'),
    VS('v2'),
    VS('90-10'),
    VS('header-canary'),
    VS('mirror'),
    { apply: ['kubernetes/hardening/', 'kubernetes/hardening/istio-api/'] },
  ],
  kustomize: [
    { label: 'istio-injection=enabled' },
    { apply: ['-k', 'kubernetes/'] },
    { ready: 'deployment/ecadraft-v1' },
  ],
  'gateway-api': [
    { label: 'istio-injection=enabled' },
    { apply: ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml'] },
    {
      apply: [
        'kubernetes/gateway-api/services.yaml',
        'kubernetes/gateway-api/destination-rules.yaml',
        'kubernetes/gateway-api/sidecar.yaml',
      ],
    },
    { apply: ['kubernetes/gateway-api/gateway.yaml'] },
    { ready: 'deployment/ecadraft-v1' },
    { ready: 'deployment/ecadraft-v2' },
    ROUTE('gateway-api', 'v1'),
    ROUTE('gateway-api', '90-10'),
    ROUTE('gateway-api', '50-50'),
    ROUTE('gateway-api', 'v2'),
    ROUTE('gateway-api', 'header-canary'),
    ROUTE('gateway-api', 'mirror'),
    { apply: ['kubernetes/hardening/', 'kubernetes/hardening/gateway-api/'] },
  ],
  ambient: [
    { label: 'istio.io/dataplane-mode=ambient' },
    { apply: ['kubernetes/ecadraft1.yaml'] },
    { apply: ['kubernetes/gateway-api/services.yaml', 'kubernetes/gateway-api/destination-rules.yaml'] },
    { apply: ['kubernetes/ambient/waypoint.yaml'] },
    { ready: 'deployment/ecadraft-v1' },
    { apply: ['kubernetes/ambient/ingress.yaml'] },
    ROUTE('ambient', 'v1'),
    { apply: ['kubernetes/ecadraft2.yaml'] },
    { ready: 'deployment/ecadraft-v2' },
    ROUTE('ambient', '90-10'),
    ROUTE('ambient', '50-50'),
    ROUTE('ambient', 'v2'),
    ROUTE('ambient', 'header-canary'),
    ROUTE('ambient', 'mirror'),
    { apply: ['kubernetes/hardening/', 'kubernetes/hardening/ambient/'] },
  ],
  'argo-rollouts': [
    { label: 'istio-injection=enabled' },
    { apply: ['-k', 'kubernetes/argo-rollouts/'] },
    { apply: ['kubernetes/argo-rollouts/prometheus-operator/'] },
    { ready: 'rollout/ecadraft' },
    { apply: ['kubernetes/hardening/', 'kubernetes/hardening/argo-rollouts/'] },
  ],
};

async function run(kubectl: Kubectl, namespace: string, step: Step, serverSide: boolean): Promise<string> {
  if ('label' in step) return kubectl(['label', 'namespace', namespace, step.label, '--overwrite']);
  if ('ready' in step) {
    const [kind, name] = step.ready.split('/') as [string, string];
    if (kind === 'rollout') {
      return kubectl(['argo', 'rollouts', 'status', name, '--timeout', '300s'], { namespace });
    }
    return kubectl(['rollout', 'status', step.ready, '--timeout=300s'], { namespace });
  }
  const files = step.apply[0] === '-k' ? step.apply : step.apply.flatMap((f) => ['-f', f]);
  return kubectl(['apply', ...(serverSide ? ['--server-side'] : []), ...files], { namespace });
}

t.test('every variant applies on a real API server and its pods become Ready', async (t) => {
  const kubectl = await clusterFor(t);
  if (kubectl === undefined) return;

  for (const [variant, steps] of Object.entries(VARIANTS)) {
    for (const serverSide of [false, true]) {
      await t.test(`${variant}, ${serverSide ? 'server-side' : 'client-side'} apply`, async (t) => {
        const namespace = await freshNamespace(t, kubectl, `apply-${variant}-${serverSide ? 'ssa' : 'csa'}`);
        for (const step of steps) {
          const out = await run(kubectl, namespace, step, serverSide);
          t.pass(`${JSON.stringify(step)}: ${out.trim().split('\n').at(-1)}`);
          if (!serverSide && 'apply' in step && step.apply.join(' ') === '-k kubernetes/argo-rollouts/') {
            t.same(out.trim().split('\n'), ARGO_APPLY_OUTPUT, 'kubectl prints what docs/argo-rollouts.md shows');
          }
        }
        const pods = await kubectl.api.get(`/api/v1/namespaces/${namespace}/pods`);
        const ready = (pods?.items ?? []).filter(
          (p: { status?: { conditions?: { type: string; status: string }[] } }) =>
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        t.ok(ready.length >= 2, `${ready.length} pods Ready through the pod runner`);
        if (steps.some((s) => 'apply' in s && s.apply.includes('kubernetes/hardening/'))) {
          const pdbs = await kubectl(['get', 'poddisruptionbudgets', '-o', 'name'], { namespace });
          const hpas = await kubectl(['get', 'horizontalpodautoscalers', '-o', 'name'], { namespace });
          t.match(pdbs, /poddisruptionbudget\.policy\/ecadraft-v1/, 'the PDBs are accepted');
          t.match(hpas, /horizontalpodautoscaler\.autoscaling\/ecadraft-v1/, 'the HPAs are accepted');
        }
        if (variant === 'argo-rollouts' && !serverSide) {
          // The docs' clean-up, verbatim: it must leave nothing of the variant.
          for (const line of ARGO_CLEANUP) {
            await kubectl(line.split(' ').slice(1), { namespace });
            t.pass(line);
          }
          const left = await kubectl(
            ['get', 'rollouts,analysistemplates,virtualservices,destinationrules,podmonitors,services', '-o', 'name'],
            { namespace },
          );
          t.equal(left.trim(), '', "the docs' clean-up leaves nothing");
        }
      });
    }
  }
});

t.test("kubernetes/argo-rollouts/'s images: moves the Rollout and the split Job together", async (t) => {
  const tools = needTools(t, 'kubernetes');
  if (tools === undefined) return;
  // The user's case: the kustomization pointed at a registry, built by the
  // pinned release's kubectl.
  const dir = mkdtempSync(path.join(tmpdir(), 'ecadraft-argo-kustomize-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(ROOT, 'kubernetes/argo-rollouts'), dir, { recursive: true });
  const file = path.join(dir, 'kustomization.yaml');
  const text = readFileSync(file, 'utf8');
  t.match(text, /^ {4}newName: ecadraft$/m, 'the kustomization names the image ecadraft');
  writeFileSync(file, text.replace(/^ {4}newName: ecadraft$/m, '    newName: registry.example.com/team/ecadraft'));
  const built = execFileSync(path.join(tools.kubernetes, 'bin/kubectl'), ['kustomize', dir], { encoding: 'utf8' });
  const images = [...built.matchAll(/^\s*image: (\S+)$/gm)].map((m) => m[1]);
  t.same(
    images,
    [`registry.example.com/team/ecadraft:${VERSION}`, `registry.example.com/team/ecadraft:${VERSION}`],
    'both images point at the registry: the split Job and the Rollout',
  );
  const kinds = [...built.matchAll(/^kind: (\S+)$/gm)].map((m) => m[1]).sort();
  t.same(
    kinds,
    [
      'AnalysisTemplate',
      'AnalysisTemplate',
      'AnalysisTemplate',
      'DestinationRule',
      'Gateway',
      'Rollout',
      'Service',
      'ServiceAccount',
      'VirtualService',
      'VirtualService',
    ],
    'every object of the variant',
  );
});
