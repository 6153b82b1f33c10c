#!/usr/bin/env node
// The `ecadraft` command: measure a canary split (`split`) or load-test a
// rollout (`load`). Arguments are parsed and validated here; each command
// lives in its own module.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { RELEASE } from '../release.ts';
import { CliError, EXIT } from './errors.ts';
import { parseExpect } from './expect.ts';
import { EXPECT_DEFAULT, parseMaxErrors } from './max-errors.ts';
import { parseTarget } from './request.ts';
import { type SplitOptions, split } from './split.ts';
import { DEFAULT_WATCH_RATE, watch } from './watch.ts';

const USAGE = `Usage: ecadraft <command> [options] <url>

Commands
  split <url>   Measure which version answers: count, share with a confidence
                interval, p50/p99 latency per version; errors and non-2xx.
                Point it at /tickets: when a proxy strips the
                x-ecadraft-version header, the casing of the customer names
                still tells the versions apart.
  load <url>    Load-test with autocannon and show the share per version,
                second by second.

split options
  -n, --requests <n>       requests to send (default 200)
  -c, --concurrency <n>    requests in flight at once (default 10)
  -t, --timeout <ms>       per-request timeout (default 5000)
      --rate <n>           requests started per second at most
                           (default: unlimited; ${DEFAULT_WATCH_RATE} with --watch)
  -e, --expect <split>     e.g. v1=90,v2=10: exit 1 when a version's expected
                           share is outside its confidence interval, or when
                           any request fails (see --max-errors)
      --max-errors <n|p%>  exit 1 when more requests fail (non-2xx answers,
                           timeouts, connection errors) than n, or than p% of
                           them (default: 0 with --expect; otherwise exit 1
                           only when every request fails)
      --confidence <p>     confidence of the interval (default 0.95; 0.999 makes a
                           CI gate that almost never fails a correct split)
  -w, --watch              sample until Ctrl-C, redrawing the split of the last
                           --window seconds every second
      --window <s>         sliding window of --watch (default 10)
      --json               machine-readable output (one object per line with --watch)

load options
  -d, --duration <s>       how long to run (default 10)
  -c, --connections <n>    concurrent connections (default 10)
  -r, --rate <n>           requests per second over all connections (default: unlimited)
  -t, --timeout <ms>       per-request timeout (default 10000)
      --json               autocannon's raw result plus the per-version tally and timeline

  -h, --help               this text
      --version            the release of ecadraft

Examples
  ecadraft split http://localhost:8080/tickets
  ecadraft split --requests 400 --expect v1=90,v2=10 http://$GATEWAY_URL/tickets
  ecadraft split --watch http://$GATEWAY_URL/tickets
  ecadraft load --duration 60 --rate 200 http://$GATEWAY_URL/tickets

Exit codes: 0 ok; 1 --expect or --max-errors not met; 2 usage or connection
error, or no answer told its version (not an ecadraft service?).
`;

const SPLIT_OPTIONS = {
  requests: { type: 'string', short: 'n' },
  concurrency: { type: 'string', short: 'c' },
  timeout: { type: 'string', short: 't' },
  rate: { type: 'string' },
  expect: { type: 'string', short: 'e' },
  'max-errors': { type: 'string' },
  confidence: { type: 'string' },
  watch: { type: 'boolean', short: 'w' },
  window: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const LOAD_OPTIONS = {
  duration: { type: 'string', short: 'd' },
  connections: { type: 'string', short: 'c' },
  rate: { type: 'string', short: 'r' },
  timeout: { type: 'string', short: 't' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** A number option: `--name` within [min, max], integral when asked; `fallback` when absent. */
function numberOption(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
  integer?: boolean,
): number;
function numberOption(
  name: string,
  text: string | undefined,
  fallback: undefined,
  min: number,
  max: number,
  integer?: boolean,
): number | undefined;
function numberOption(
  name: string,
  text: string | undefined,
  fallback: number | undefined,
  min: number,
  max: number,
  integer = true,
): number | undefined {
  if (text === undefined) return fallback;
  const value = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    value >= min &&
    value <= max;
  if (!ok)
    throw new CliError(
      `invalid --${name} ${JSON.stringify(text)}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
  return value;
}

/**
 * `-n -5` as `--requests=-5`: parseArgs takes a value that starts with a dash
 * for a forgotten one, but a negative number is a value, and the range check
 * says what is wrong with it.
 */
function joinNegativeValues(args: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const valued = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) {
    if (option.type !== 'string') continue;
    valued.set(`--${name}`, name);
    if (option.short) valued.set(`-${option.short}`, name);
  }
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = valued.get(args[i]!);
    const next = args[i + 1];
    if (name !== undefined && next !== undefined && /^-\.?\d/.test(next)) {
      joined.push(`--${name}=${next}`);
      i++;
    } else joined.push(args[i]!);
  }
  return joined;
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args: joinNegativeValues(args, options), options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages are one sentence plus advice on `--`; the sentence is what matters.
    const message = (error as Error).message.split(/\.\s|\n/)[0];
    throw new CliError(`${command}: ${message} (see ecadraft --help)`);
  }
}

function target(command: string, positionals: string[]): URL {
  if (positionals.length > 1)
    throw new CliError(`${command}: expected one URL, got ${positionals.length}: ${positionals.join(' ')}`);
  return parseTarget(positionals[0]);
}

async function runSplit(args: string[]): Promise<number> {
  const { values: v, positionals } = parse('split', args, SPLIT_OPTIONS);
  if (v.help) return help();
  const options: SplitOptions = {
    url: target('split', positionals),
    requests: numberOption('requests', v.requests, 200, 1, 10_000_000),
    concurrency: numberOption('concurrency', v.concurrency, 10, 1, 10_000),
    timeoutMs: numberOption('timeout', v.timeout, 5000, 1, 3_600_000),
    rate: numberOption('rate', v.rate, undefined, 0.1, 1_000_000, false),
    confidence: numberOption('confidence', v.confidence, 0.95, 0.5, 0.999999, false),
    json: v.json ?? false,
    windowSeconds: numberOption('window', v.window, 10, 1, 3600),
  };
  // A gate needs a fixed sample to decide on; a live view never ends by itself.
  for (const gate of ['expect', 'max-errors'] as const) {
    if (v[gate] !== undefined && v.watch)
      throw new CliError(`--${gate} cannot be combined with --watch: run a fixed split to gate a step`);
  }
  if (v.window !== undefined && !v.watch)
    throw new CliError('--window applies only to --watch: a fixed split counts every request it sends');
  if (v.expect !== undefined) options.expect = parseExpect(v.expect);
  if (v['max-errors'] !== undefined) options.maxErrors = parseMaxErrors(v['max-errors']);
  else if (options.expect) options.maxErrors = EXPECT_DEFAULT;
  return v.watch ? watch(options) : split(options);
}

async function runLoad(args: string[]): Promise<number> {
  const { values: v, positionals } = parse('load', args, LOAD_OPTIONS);
  if (v.help) return help();
  // autocannon takes longer to import than `split` takes to run a small sample; only `load` pays for it.
  const { load } = await import('./load.ts');
  return load({
    url: target('load', positionals),
    durationSeconds: numberOption('duration', v.duration, 10, 1, 86_400),
    connections: numberOption('connections', v.connections, 10, 1, 10_000),
    rate: numberOption('rate', v.rate, undefined, 1, 10_000_000),
    timeoutMs: numberOption('timeout', v.timeout, 10_000, 1, 3_600_000),
    json: v.json ?? false,
  });
}

function help(): number {
  process.stdout.write(USAGE);
  return EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'split':
      return runSplit(rest);
    case 'load':
      return runLoad(rest);
    case undefined:
      process.stderr.write(USAGE);
      return EXIT.error;
    case '-h':
    case '--help':
    case 'help':
      return help();
    case '--version':
      process.stdout.write(`${RELEASE}\n`);
      return EXIT.ok;
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}: expected split or load (see ecadraft --help)`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`ecadraft: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    // A bug of ours: still one line, with the stack only on request.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `ecadraft: unexpected error: ${message.split('\n')[0]}${process.env.ECADRAFT_DEBUG ? `\n${(error as Error).stack}` : ' (ECADRAFT_DEBUG=1 shows the stack)'}\n`,
    );
    process.exitCode = EXIT.error;
  }
}
