// What docs/istio.md promises about kubernetes/, read back so the tests can
// hold the manifests to it: the walkthrough's table of files, objects and
// `kubectl apply` output, the output shown at each step, and the commands that
// only work on some clusters or with some Istio releases.
import type { ExpectedObject } from './manifest-files.ts';
import type { Problem } from './manifests.ts';

interface Block {
  kind: 'text' | 'code';
  /** 1-based line of the block's first line (the fence, for code). */
  line: number;
  lines: string[];
}

/** Paragraphs and fenced code blocks, in order. */
function blocksOf(markdown: string): Block[] {
  const blocks: Block[] = [];
  let current: Block | undefined;
  markdown.split('\n').forEach((text, i) => {
    const fence = /^\s*```/.test(text);
    if (current?.kind === 'code') {
      if (fence) current = undefined;
      else current.lines.push(text);
      return;
    }
    if (fence) {
      current = { kind: 'code', line: i + 1, lines: [] };
      blocks.push(current);
      return;
    }
    if (text.trim() === '') {
      current = undefined;
      return;
    }
    // A marker for the doc tests (`<!-- test -->`, `<!-- not tested: ... -->`): not what a reader sees.
    if (/^\s*<!--.*-->\s*$/.test(text)) return;
    if (!current) {
      current = { kind: 'text', line: i + 1, lines: [] };
      blocks.push(current);
    }
    current.lines.push(text);
  });
  return blocks;
}

export interface WalkthroughRow {
  file: string;
  objects: ExpectedObject[];
  /** What `kubectl apply -f` prints for the file, one line per object. */
  output: string[];
}

const cells = (row: string): string[] =>
  row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());

/**
 * The table of walkthrough files: `file | objects, in this order | kubectl
 * apply prints`. Objects read `Kind \`name\``, a route with its weights per
 * rule: `VirtualService \`ecadraft\` (v1 50, v2 50)`. The apiVersion is the
 * current one of the group kubectl names in the output (`v1` of each).
 */
export function walkthroughTable(markdown: string): WalkthroughRow[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => /^\|\s*file\s*\|\s*objects, in this order\s*\|/.test(l));
  if (header < 0) throw new Error('no walkthrough table (| file | objects, in this order | ... |)');
  const rows: WalkthroughRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [fileCell = '', objectsCell = '', outputCell = ''] = cells(line);
    const output = [...outputCell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    const objects = [...objectsCell.matchAll(/(\w+) `([^`]+)`(?: \(([^)]*)\))?/g)].map((m, i): ExpectedObject => {
      const kind = m[1] as string;
      const name = m[2] as string;
      const group = /^[^./]+(?:\.([^/]+))?\//.exec(output[i] ?? '')?.[1];
      const object: ExpectedObject = { apiVersion: group ? `${group}/v1` : 'v1', kind, name };
      if (m[3] !== undefined)
        object.weights = m[3].split(';').map((rule) =>
          Object.fromEntries(
            rule.split(',').map((part) => {
              const [target = '', weight = ''] = part.trim().split(/\s+/);
              return [target, Number(weight)];
            }),
          ),
        );
      return object;
    });
    rows.push({ file: fileCell.replaceAll('`', ''), objects, output });
  }
  return rows;
}

/**
 * The output shown after each `kubectl apply -f <file>` of one file: a code
 * block holding just that command, followed by a block of output.
 */
export function shownApplyOutputs(markdown: string): Array<{ file: string; line: number; output: string[] }> {
  const blocks = blocksOf(markdown);
  const shown: Array<{ file: string; line: number; output: string[] }> = [];
  blocks.forEach((b, i) => {
    const commands = b.lines.filter((l) => l.trim() !== '');
    const file =
      commands.length === 1 ? /^kubectl apply -f (\S+\.yaml)$/.exec(commands[0]?.trim() ?? '')?.[1] : undefined;
    const next = blocks[i + 1];
    if (b.kind !== 'code' || !file || next?.kind !== 'code') return;
    shown.push({ file, line: b.line, output: next.lines.filter((l) => l.trim() !== '') });
  });
  return shown;
}

/**
 * Istio reports a Gateway API Gateway Programmed only once its Service has an
 * address; a LoadBalancer Service on kind (or minikube without a tunnel) never
 * gets one, and the wait hangs. A block that waits for one of these Gateways
 * (those whose Service is a LoadBalancer) must either make its Service a
 * ClusterIP or be introduced as needing a load balancer.
 */
export function checkProgrammedWaits(
  file: string,
  markdown: string,
  loadBalancerGateways: readonly string[],
): Problem[] {
  const problems: Problem[] = [];
  const blocks = blocksOf(markdown);
  const waitsForOne = (line: string): boolean =>
    /--for=condition=programmed/i.test(line) && loadBalancerGateways.some((g) => line.trim().endsWith(`/${g}`));
  blocks.forEach((b, i) => {
    if (b.kind !== 'code' || !b.lines.some(waitsForOne)) return;
    if (b.lines.some((l) => l.includes('networking.istio.io/service-type=ClusterIP'))) return;
    const before = blocks
      .slice(0, i)
      .reverse()
      .find((x) => x.kind === 'text');
    if (before && /load balancer/i.test(before.lines.join(' '))) return;
    problems.push({
      file,
      object: `line ${b.line}`,
      message:
        'waits for condition=programmed, which stays False (AddressNotAssigned) while a LoadBalancer Service has no address, as on kind; set networking.istio.io/service-type=ClusterIP in this block, or introduce it as needing a load balancer',
    });
  });
  return problems;
}

/** The releases .ci/versions.env pins, as the docs must install them. */
export interface PinnedReleases {
  /** ISTIO_VERSION, e.g. 1.32.0. */
  istio: string;
  /** GATEWAY_API_VERSION, e.g. 1.6.3. */
  gatewayApi: string;
}

/**
 * Istio supports a minor release until six weeks after the second one after
 * it is out: with the pinned one the newest, the two before it are supported.
 */
export function supportedIstioMinors(pinned: string): number[] {
  const minor = Number(pinned.split('.')[1]);
  return [minor - 2, minor - 1, minor];
}

/**
 * The install commands a doc gives are pinned to the releases the tests check
 * the manifests against: the Gateway API CRDs at GATEWAY_API_VERSION, istioctl
 * and the Helm charts at ISTIO_VERSION; Helm never waits on the gateway chart
 * (it would wait for a load balancer address that kind never assigns); the
 * doc says which Istio release it installs, and names no unsupported one.
 */
export function checkPinnedReleases(file: string, markdown: string, pinned: PinnedReleases): Problem[] {
  const problems: Problem[] = [];
  const at = (i: number) => `line ${i + 1}`;
  let crds = 0;
  const supported = supportedIstioMinors(pinned.istio);
  markdown.split('\n').forEach((text, i) => {
    for (const m of text.matchAll(/gateway-api\/releases\/download\/v(\d+\.\d+\.\d+)\//g)) {
      crds++;
      if (m[1] !== pinned.gatewayApi)
        problems.push({
          file,
          object: at(i),
          message: `installs the Gateway API CRDs v${m[1]}, not v${pinned.gatewayApi}, the release the tests check against`,
        });
    }
    if (/^\s*istioctl install\b/.test(text) && !text.includes(`--set tag=${pinned.istio}`))
      problems.push({ file, object: at(i), message: `istioctl install without --set tag=${pinned.istio}` });
    if (/^\s*helm install \S+ istio\//.test(text)) {
      if (!text.includes(`--version ${pinned.istio}`))
        problems.push({
          file,
          object: at(i),
          message: `helm install of an Istio chart without --version ${pinned.istio}`,
        });
      if (/ istio\/gateway\b/.test(text) && /--wait\b/.test(text))
        problems.push({
          file,
          object: at(i),
          message:
            'helm install of istio/gateway with --wait, which waits for a load balancer address kind never assigns',
        });
    }
    for (const m of text.matchAll(/\bIstio (1\.(\d+))\b/g))
      if (!supported.includes(Number(m[2])))
        problems.push({
          file,
          object: at(i),
          message: `names Istio ${m[1]}, outside the supported ${supported.map((n) => `1.${n}`).join(', ')}`,
        });
  });
  if (crds === 0)
    problems.push({ file, object: 'document', message: `does not install the Gateway API CRDs v${pinned.gatewayApi}` });
  if (!markdown.includes(`Istio ${pinned.istio}`))
    problems.push({ file, object: 'document', message: `does not say it installs Istio ${pinned.istio}` });
  return problems;
}
