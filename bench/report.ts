// The benchmark run's results as tables (serializer, HTTP, scale, `where`,
// Envoy's hop, targets), each built once and rendered by tables.ts as aligned
// text for the terminal or Markdown for the README.
import { milliseconds } from '../src/cli/render.ts';
import type { HopResults } from './envoy-hop.ts';
import type { HttpResults } from './http.ts';
import { type Latency, type ScaleResults, WHERE_KINDS, WHERE_SORT, WHERE_TITLES } from './scale.ts';
import type { SerializeResults } from './serialize.ts';
import { cores, integer, mb, type Table, times } from './tables.ts';
import type { TargetResult } from './targets.ts';

const firstAndRepeat = (l: Latency) => `${milliseconds(l.firstMs)} / ${milliseconds(l.repeatMs)}`;

/** GET /tickets directly and through Envoy, and the hop's cost as a ratio. */
export function envoyHopTable(hop: HopResults): Table {
  const { rounds, load } = hop.plan;
  const title = `Through Envoy: GET /tickets, median of ${rounds} rounds, ${load.connections} connections, ${load.durationS} s per cell`;
  if (hop.skipped) return { title, align: ['left'], rows: [['note'], [hop.skipped]] };
  return {
    title,
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: [
      ['path', 'req/s', 'p50', 'p99', 'errors', 'non-2xx', 'CPU server', 'x direct'],
      ...hop.rows.map((r) => [
        r.path,
        integer(r.rps),
        milliseconds(r.p50Ms),
        milliseconds(r.p99Ms),
        String(r.errors),
        integer(r.non2xx),
        cores(r.serverCpu),
        r.path === 'direct' ? '' : times(hop.ratio),
      ]),
    ],
  };
}

export function httpTable(http: HttpResults): Table {
  const { rounds, load } = http.plan;
  return {
    title: `HTTP: median of ${rounds} rounds, ${load.connections} connections, pipelining ${load.pipelining}, ${load.durationS} s per cell`,
    align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: [
      [
        'scenario',
        'server',
        'req/s',
        'p50',
        'p99',
        'errors',
        'non-2xx',
        'unexpected',
        'CPU server (main thread) / client',
        'x ceiling',
        'x baseline',
      ],
      ...http.rows.map((r) => [
        `(${r.scenario}) ${r.title}`,
        r.server,
        integer(r.rps),
        milliseconds(r.p50Ms),
        milliseconds(r.p99Ms),
        String(r.errors),
        integer(r.non2xx),
        String(r.unexpected),
        `${cores(r.serverCpu)} (${cores(r.serverMainCpu)}) / ${cores(r.clientCpu)}`,
        r.server === 'ceiling' ? '' : times(r.vsCeiling),
        r.server === 'baseline' ? '' : times(r.vsBaseline),
      ]),
    ],
  };
}

export function serializeTable(serialize: SerializeResults): Table {
  const { rounds, msPerRun, tickets } = serialize.plan;
  return {
    title: `Serializer alone: median of ${rounds} rounds of ${msPerRun} ms, pages of ${tickets} tickets`,
    align: ['right', 'left', 'right', 'right', 'right', 'left'],
    rows: [
      ['items', 'candidate', 'pages/s', 'x JSON.stringify', 'x fast-json-stringify', 'same bytes'],
      ...serialize.rows.map((r) => [
        String(r.items),
        r.candidate,
        integer(r.opsPerS),
        times(r.vsJsonStringify),
        times(r.vsFastJsonStringify),
        r.identical ? 'yes' : 'no',
      ]),
    ],
  };
}

export function scaleTable(scale: ScaleResults): Table {
  return {
    title: 'Scale: latency of single requests, first / median of the repeats',
    align: ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: [
      [
        'tickets',
        'ready',
        'RSS start',
        'RSS after load',
        '(a) first / repeat',
        'unfiltered page, miss',
        '(c) first / next',
        'sort=customer first / repeat',
        'load (c) req/s',
      ],
      ...scale.rows.map((r) => [
        integer(r.tickets),
        milliseconds(r.readyMs),
        mb(r.rssStartBytes),
        mb(r.rssAfterLoadBytes),
        firstAndRepeat(r.a),
        firstAndRepeat(r.unfilteredMiss),
        firstAndRepeat(r.c),
        firstAndRepeat(r.sortCustomer),
        integer(r.loadRps),
      ]),
    ],
  };
}

export function whereTable(scale: ScaleResults): Table {
  return {
    title: `Scale: first-time \`where\` queries, median of ${scale.plan.repeats} each, without / with sort=${WHERE_SORT}`,
    align: ['right', ...WHERE_KINDS.map(() => 'right' as const)],
    rows: [
      ['tickets', ...WHERE_KINDS.map((k) => WHERE_TITLES[k])],
      ...scale.rows.map((r) => [
        integer(r.tickets),
        ...WHERE_KINDS.map((k) => `${milliseconds(r.where[k].plainMs)} / ${milliseconds(r.where[k].sortedMs)}`),
      ]),
    ],
  };
}

export function targetsTable(targets: TargetResult[]): Table {
  const value = (t: TargetResult) => {
    if (t.measured === undefined) return 'not measured';
    if (t.unit === 'x') return times(t.measured);
    return `${t.unit === 'req/s' ? integer(t.measured) : t.measured.toFixed(t.unit === 's' ? 2 : 0)} ${t.unit}`;
  };
  return {
    title: 'Targets (informational: speed never fails the run)',
    align: ['left', 'right', 'right', 'left'],
    rows: [
      ['target', 'wanted', 'measured', 'result'],
      ...targets.map((t) => [t.label, t.wanted, value(t), t.pass === undefined ? '-' : t.pass ? 'pass' : 'MISS']),
    ],
  };
}
