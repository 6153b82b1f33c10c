// Configuration is read and validated here and nowhere else: every other
// module receives a typed Config.
import { isVersionName, VERSION_NAMES, type VersionName } from './format.ts';

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

type Env = Record<string, string | undefined>;

function fail(name: string, value: string, accepted: string): never {
  throw new ConfigError(`invalid ${name}=${JSON.stringify(value)}: expected ${accepted}`);
}

// Kubernetes renders an unset optional value as an empty string, so empty means default.
function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const accepted = `an integer from ${min} to ${max}`;
  if (!/^\s*[+-]?\d+\s*$/.test(value)) fail(name, value, accepted);
  const n = Number(value);
  if (n < min || n > max) fail(name, value, accepted);
  return n;
}

function oneOf<T extends string>(
  env: Env,
  name: string,
  fallback: T,
  accepted: readonly T[],
  is: (v: string) => v is T,
): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const trimmed = value.trim();
  if (!is(trimmed)) fail(name, value, `one of ${accepted.join(', ')}`);
  return trimmed;
}

function rate(env: Env, name: string): number {
  const value = raw(env, name);
  if (value === undefined) return 0;
  const n = Number(value);
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) || n > 1) fail(name, value, 'a number from 0 to 1');
  return n;
}

const MAX_FAULT_DELAY_MS = 600_000;

function delayRange(env: Env, name: string): { min: number; max: number } | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(value);
  const min = Number(m?.[1]),
    max = m?.[2] === undefined ? min : Number(m[2]);
  if (!m || min > max || max > MAX_FAULT_DELAY_MS) {
    fail(name, value, `milliseconds as N or MIN-MAX, at most ${MAX_FAULT_DELAY_MS}`);
  }
  return max === 0 ? undefined : { min, max };
}

const isLogLevel = (v: string): v is LogLevel => (LOG_LEVELS as readonly string[]).includes(v);

export function loadConfig(env: Env): Config {
  const host = raw(env, 'HOST')?.trim() ?? '0.0.0.0';
  if (/\s/.test(host)) fail('HOST', host, 'an IP address or host name');
  const config: Config = {
    version: oneOf(env, 'VERSION', 'v1', VERSION_NAMES, isVersionName),
    port: integer(env, 'PORT', 8080, 0, 65535),
    host,
    ticketCount: integer(env, 'TICKET_COUNT', 100, 1, 1_000_000),
    seed: integer(env, 'SEED', DEFAULT_SEED, 0, 2 ** 32 - 1),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', LOG_LEVELS, isLogLevel),
    shutdownDelayMs: integer(env, 'SHUTDOWN_DELAY_MS', 5000, 0, 600_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 20_000, 1, 3_600_000),
    faultErrorRate: rate(env, 'FAULT_ERROR_RATE'),
    faultDelayMs: delayRange(env, 'FAULT_DELAY_MS'),
  };
  if (config.shutdownTimeoutMs <= config.shutdownDelayMs) {
    fail(
      'SHUTDOWN_TIMEOUT_MS',
      String(config.shutdownTimeoutMs),
      `an integer greater than SHUTDOWN_DELAY_MS (${config.shutdownDelayMs}), since the delay is part of the shutdown`,
    );
  }
  return config;
}
