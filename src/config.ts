// Configuration is read and validated here and nowhere else: every other
// module receives a typed Config. One table lists the variables; reading,
// validation, error messages and the README's configuration table all follow
// from it.
import { isVersionName, VERSION_NAMES, type VersionName } from './versions.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  version: VersionName;
  port: number;
  host: string;
  ticketCount: number;
  seed: number;
  logLevel: LogLevel;
  shutdownDelayMs: number;
  shutdownTimeoutMs: number;
  /** How long an idle keep-alive connection stays open; must outlast the proxy's upstream idle timeout. */
  keepAliveTimeoutMs: number;
  /** Share of Eve-route requests that answer 500, for rollback demos. */
  faultErrorRate: number;
  /** Added to every Eve-route request; a range draws uniformly. Undefined when off. */
  faultDelayMs: { min: number; max: number } | undefined;
}

export const DEFAULT_SEED = 20200714;

/** A bad setting: its message is the single line printed before exiting. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const INVALID = Symbol('invalid');

/** How a variable's text becomes a value. */
interface Parser<T> {
  /** What is accepted, in the words of the error message and the README. */
  accepts: string;
  /** The value, or INVALID. Surrounding whitespace is the parser's to ignore. */
  parse: (text: string) => T | typeof INVALID;
}

interface Variable<T> extends Parser<T> {
  name: string;
  /** The default as text, parsed like any setting, so it is valid by construction. */
  default: string;
  /** One line for the README (Markdown). */
  meaning: string;
}

function integer(min: number, max: number): Parser<number> {
  return {
    accepts: `an integer from ${min} to ${max}`,
    parse: (text) => {
      const n = Number(text);
      return /^\s*[+-]?\d+\s*$/.test(text) && n >= min && n <= max ? n : INVALID;
    },
  };
}

function oneOf<T extends string>(accepted: readonly T[], is: (v: string) => v is T): Parser<T> {
  return {
    accepts: `one of ${accepted.join(', ')}`,
    parse: (text) => (is(text.trim()) ? (text.trim() as T) : INVALID),
  };
}

const HOST_NAME: Parser<string> = {
  accepts: 'an IP address or host name',
  parse: (text) => (/\s/.test(text.trim()) ? INVALID : text.trim()),
};

const SHARE: Parser<number> = {
  accepts: 'a number from 0 to 1',
  parse: (text) => (/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) && Number(text) <= 1 ? Number(text) : INVALID),
};

const MAX_FAULT_DELAY_MS = 600_000;

/** `N` or `MIN-MAX` milliseconds; 0 is off (undefined). */
const DELAY_RANGE: Parser<{ min: number; max: number } | undefined> = {
  accepts: `milliseconds as N or MIN-MAX, at most ${MAX_FAULT_DELAY_MS}`,
  parse: (text) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
    if (!m) return INVALID;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : Number(m[2]);
    if (min > max || max > MAX_FAULT_DELAY_MS) return INVALID;
    return max === 0 ? undefined : { min, max };
  },
};

const isLogLevel = (v: string): v is LogLevel => (LOG_LEVELS as readonly string[]).includes(v);

/** Every variable, in the order the README lists them. */
export const VARIABLES: { readonly [K in keyof Config]: Variable<Config[K]> } = {
  version: {
    name: 'VERSION',
    default: 'v1',
    ...oneOf(VERSION_NAMES, isVersionName),
    meaning: '`v1` title-case customers, `v2` upper-case',
  },
  port: { name: 'PORT', default: '8080', ...integer(0, 65535), meaning: 'listen port' },
  host: { name: 'HOST', default: '0.0.0.0', ...HOST_NAME, meaning: 'listen address' },
  ticketCount: {
    name: 'TICKET_COUNT',
    default: '100',
    ...integer(1, 1_000_000),
    meaning: 'tickets generated at start',
  },
  seed: {
    name: 'SEED',
    default: String(DEFAULT_SEED),
    ...integer(0, 2 ** 32 - 1),
    meaning: 'faker seed; the same seed gives byte-identical tickets in every process',
  },
  logLevel: {
    name: 'LOG_LEVEL',
    default: 'info',
    ...oneOf(LOG_LEVELS, isLogLevel),
    meaning: 'pino level; per-request lines only at `debug` and below',
  },
  shutdownDelayMs: {
    name: 'SHUTDOWN_DELAY_MS',
    default: '5000',
    ...integer(0, 600_000),
    meaning: 'after a stop signal: time readiness fails while requests are still served',
  },
  shutdownTimeoutMs: {
    name: 'SHUTDOWN_TIMEOUT_MS',
    default: '20000',
    ...integer(1, 3_600_000),
    meaning: 'hard limit for the whole shutdown; must exceed `SHUTDOWN_DELAY_MS`',
  },
  keepAliveTimeoutMs: {
    name: 'KEEP_ALIVE_TIMEOUT_MS',
    default: '65000',
    ...integer(1, 3_600_000),
    meaning:
      "an idle keep-alive connection is closed after this; keep it above the mesh's upstream idle timeout (the DestinationRule's 60 s)",
  },
  faultErrorRate: {
    name: 'FAULT_ERROR_RATE',
    default: '0',
    ...SHARE,
    meaning: "that share of Eve-route requests answers 500 (Eve's error body, `x-ecadraft-fault: error`); 0 is off",
  },
  faultDelayMs: {
    name: 'FAULT_DELAY_MS',
    default: '0',
    ...DELAY_RANGE,
    meaning: 'a fixed delay (`200`) or a range drawn uniformly (`100-400`) added to Eve-route requests; 0 is off',
  },
};

type Env = Record<string, string | undefined>;

function fail(name: string, value: string, accepted: string): never {
  throw new ConfigError(`invalid ${name}=${JSON.stringify(value)}: expected ${accepted}`);
}

function read<T>(env: Env, variable: Variable<T>): T {
  const value = env[variable.name];
  // Kubernetes renders an unset optional value as an empty string, so empty means default.
  const text = value === undefined || value.trim() === '' ? variable.default : value;
  const parsed = variable.parse(text);
  if (parsed === INVALID) fail(variable.name, text, variable.accepts);
  return parsed;
}

export function loadConfig(env: Env): Config {
  const entries = Object.entries(VARIABLES).map(([key, variable]) => [key, read<unknown>(env, variable)]);
  const config = Object.fromEntries(entries) as Config;
  if (config.shutdownTimeoutMs <= config.shutdownDelayMs) {
    fail(
      VARIABLES.shutdownTimeoutMs.name,
      String(config.shutdownTimeoutMs),
      `an integer greater than ${VARIABLES.shutdownDelayMs.name} (${config.shutdownDelayMs}), since the delay is part of the shutdown`,
    );
  }
  return config;
}
