// `npm run bench [-- --quick] [-- --only=http,serialize,scale,envoy]`: every
// benchmark (the serializer, HTTP side by side with the ceiling and the
// baseline, scale by ticket count, /tickets directly and through Envoy) in one run, on loopback, bounded in time. Exits non-zero
// only when a scenario errors (connection errors, unexpected statuses) or a
// server fails to start; speed is reported against the targets, never judged,
// since CI machines are too noisy for that.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.ts';
import { assertFreshBuild, cleanUpOnExit, ROOT, StartError } from './children.ts';
import { type HopResults, runEnvoyHop } from './envoy-hop.ts';
import { type HttpPlan, type HttpResults, runHttp } from './http.ts';
import { CONNECTIONS } from './load.ts';
import { envoyHopTable, httpTable, scaleTable, serializeTable, targetsTable, whereTable } from './report.ts';
import { runScale, type ScalePlan, type ScaleResults } from './scale.ts';
import { runSerialize, type SerializePlan, type SerializeResults } from './serialize.ts';
import { renderMarkdown, renderText, type Table } from './tables.ts';
import { evaluateTargets } from './targets.ts';

const SECTIONS = ['serialize', 'http', 'scale', 'envoy'] as const;
type Section = (typeof SECTIONS)[number];

interface Plan {
  serialize: SerializePlan;
  http: HttpPlan;
  scale: ScalePlan;
  /** GET /tickets directly and through Envoy. */
  envoy: HttpPlan;
}

// Sized to finish in about 4 minutes (default) and 40 s (quick) on two busy
// cores, with room under 5 minutes and 1 minute.
const PLANS: Record<'default' | 'quick', Plan> = {
  default: {
    serialize: { rounds: 7, msPerRun: 150, tickets: 100 },
    // Five short rounds rather than three long ones: the closer in time the cells of a round, the less a burst of outside load skews their ratio.
    http: { rounds: 5, warmupS: 0.5, load: { ...CONNECTIONS, durationS: 2 } },
    scale: { counts: [100, 10_000, 100_000, 1_000_000], repeats: 20, load: { ...CONNECTIONS, durationS: 2 } },
    envoy: { rounds: 5, warmupS: 0.5, load: { ...CONNECTIONS, durationS: 2 } },
  },
  quick: {
    serialize: { rounds: 3, msPerRun: 40, tickets: 100 },
    http: { rounds: 2, warmupS: 0.2, load: { ...CONNECTIONS, durationS: 0.6 } },
    scale: { counts: [100, 100_000], repeats: 5, load: { ...CONNECTIONS, durationS: 0.5 } },
    envoy: { rounds: 2, warmupS: 0.2, load: { ...CONNECTIONS, durationS: 0.6 } },
  },
};

const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

function machine() {
  let model: string | undefined;
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
  } catch {
    // Not Linux: os.cpus() still names it.
  }
  return {
    nproc: os.availableParallelism(),
    cpu: model ?? os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGB: Math.round(os.totalmem() / 1024 ** 3),
  };
}

/** The CPU time of all cores so far, and the part of it the hypervisor gave to other guests (Linux's steal time). */
function cpuTicks(): { total: number; steal: number } | undefined {
  try {
    // user nice system idle iowait irq softirq steal ...: in USER_HZ ticks.
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(1, 9).map(Number);
    return { total: ticks.reduce((a, b) => a + b, 0), steal: ticks[7]! };
  } catch {
    return undefined;
  }
}

// On a shared host, above this the run was slowed by other guests more than usual.
const STEAL_WARNING = 0.05;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
  const mode = values.quick ? 'quick' : 'default';
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
  if (unknown.length > 0)
    throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
  const wanted = (section: Section) => !only || only.includes(section);
  const plan = PLANS[mode];
  const begun = performance.now();
  const log = (line: string) =>
    process.stdout.write(`[${((performance.now() - begun) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);

  cleanUpOnExit();
  const startFailures: string[] = [];
  // A server that does not start fails the run, but the other sections still report.
  const section = async <T>(name: Section, run: () => T | Promise<T>): Promise<T | undefined> => {
    if (!wanted(name)) return undefined;
    log(`${name}...`);
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof StartError)) throw error;
      startFailures.push(`${name}: ${error.message}`);
      log(`${name}: a server failed to start\n${error.message}`);
      return undefined;
    }
  };

  try {
    assertFreshBuild();
  } catch (error) {
    if (error instanceof StartError) {
      process.stderr.write(`bench: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const host = machine();
  const ticksAtStart = cpuTicks();
  log(`${mode} run on ${host.nproc} x ${host.cpu}, Node ${host.node}`);
  const serialize: SerializeResults | undefined = await section('serialize', () => runSerialize(plan.serialize, log));
  const http: HttpResults | undefined = await section('http', () => runHttp(plan.http, log));
  const scale: ScaleResults | undefined = await section('scale', () => runScale(plan.scale, log));
  const envoy: HopResults | undefined = await section('envoy', () => runEnvoyHop(plan.envoy, log));
  const targets = evaluateTargets(http, scale);
  const failures = [
    ...startFailures,
    ...(http?.failures ?? []),
    ...(scale?.failures ?? []),
    ...(envoy?.failures ?? []),
  ];
  const ticksAtEnd = cpuTicks();
  const stolen =
    ticksAtStart && ticksAtEnd && ticksAtEnd.total > ticksAtStart.total
      ? (ticksAtEnd.steal - ticksAtStart.steal) / (ticksAtEnd.total - ticksAtStart.total)
      : undefined;
  const stolenText = stolen === undefined ? 'not known' : `${(stolen * 100).toFixed(1)}%`;
  const stealNote = `CPU time taken by the host for other guests (steal): ${stolenText}`;
  const warnings = [
    ...(http?.warnings ?? []),
    ...(scale?.warnings ?? []),
    ...(stolen !== undefined && stolen > STEAL_WARNING
      ? [`the host took ${stolenText} of this machine's CPU time for other guests (steal): an unusually noisy run`]
      : []),
  ];
  const durationS = (performance.now() - begun) / 1000;

  const tables: Table[] = [
    ...(serialize ? [serializeTable(serialize)] : []),
    ...(http ? [httpTable(http)] : []),
    ...(scale ? [scaleTable(scale), whereTable(scale)] : []),
    ...(envoy ? [envoyHopTable(envoy)] : []),
    targetsTable(targets),
  ];
  process.stdout.write(`\n${tables.map(renderText).join('\n\n')}\n\n`);

  const finishedAt = new Date();
  const results = {
    mode,
    sections: SECTIONS.filter(wanted),
    finishedAt: finishedAt.toISOString(),
    durationS,
    machine: { ...host, stolen },
    serialize,
    http,
    scale,
    envoy,
    targets,
    failures,
    warnings,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = finishedAt.toISOString().replace(/[:.]/g, '-');
  const written = [path.join(RESULTS_DIR, `http-${stamp}${mode === 'quick' ? '-quick' : ''}.json`)];
  writeFileSync(written[0]!, `${JSON.stringify(results, null, 2)}\n`);
  // The committed results come from complete default runs only: a quick or partial run would replace them with rougher numbers.
  if (mode === 'default' && !only && http) {
    const subtitle =
      `${host.nproc} x ${host.cpu}, Node ${host.node}; autocannon ${http.plan.load.connections} connections, ` +
      `${http.plan.load.durationS} s per cell; ${finishedAt.toISOString().slice(0, 10)}`;
    const files: [string, string][] = [
      ['latest.json', `${JSON.stringify(results, null, 2)}\n`],
      ['latest.svg', renderChart(http, subtitle)],
      ['latest.md', `${subtitle}; ${stealNote}\n\n` + `${tables.map(renderMarkdown).join('\n\n')}\n`],
    ];
    for (const [name, text] of files) {
      writeFileSync(path.join(RESULTS_DIR, name), text);
      written.push(path.join(RESULTS_DIR, name));
    }
  }
  log(`wrote ${written.map((f) => path.relative(ROOT, f)).join(', ')}`);
  log(`${mode} run took ${durationS.toFixed(0)} s; ${stealNote}`);
  if (warnings.length > 0)
    process.stderr.write(`\nbench: distrust these measurements\n${warnings.map((w) => `  ${w}`).join('\n')}\n`);
  if (failures.length > 0) {
    process.stderr.write(`\nbench: FAILED\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
    return startFailures.length > 0 ? 2 : 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
