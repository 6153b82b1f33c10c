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

/** The Gateway API release each documented Istio release is built against (its go.mod's sigs.k8s.io/gateway-api). */
export const GATEWAY_API_FOR_ISTIO: ReadonlyArray<readonly [istio: string, gatewayApi: string]> = [
  ['1.27', '1.3.0'],
  ['1.28', '1.4.0'],
];

/** The Gateway API CRDs the docs install are those the documented Istio releases expect, one for each. */
export function checkGatewayApiCrds(file: string, markdown: string): Problem[] {
  const problems: Problem[] = [];
  const found = new Set<string>();
  const known = GATEWAY_API_FOR_ISTIO.map(([istio, api]) => `Istio ${istio}: v${api}`).join(', ');
  markdown.split('\n').forEach((text, i) => {
    for (const m of text.matchAll(/gateway-api\/releases\/download\/v(\d+\.\d+\.\d+)\//g)) {
      const version = m[1] as string;
      found.add(version);
      if (!GATEWAY_API_FOR_ISTIO.some(([, api]) => api === version))
        problems.push({
          file,
          object: `line ${i + 1}`,
          message: `installs the Gateway API CRDs v${version}, which no documented Istio release is built against (${known})`,
        });
    }
  });
  for (const [istio, api] of GATEWAY_API_FOR_ISTIO)
    if (!found.has(api))
      problems.push({
        file,
        object: 'document',
        message: `does not install the Gateway API CRDs v${api}, the release Istio ${istio} is built against`,
      });
  return problems;
}
