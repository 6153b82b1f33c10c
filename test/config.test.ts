import t from 'tap';
import { ConfigError, DEFAULT_SEED, loadConfig } from '../src/config.ts';

t.test('the defaults of the configuration table', async (t) => {
  t.same(loadConfig({}), {
    version: 'v1',
    port: 8080,
    host: '0.0.0.0',
    ticketCount: 100,
    seed: DEFAULT_SEED,
    logLevel: 'info',
    shutdownDelayMs: 5000,
    shutdownTimeoutMs: 20000,
    keepAliveTimeoutMs: 65000,
    faultErrorRate: 0,
    faultDelayMs: undefined,
  });
  t.same(loadConfig({ PORT: '', VERSION: '  ' }).port, 8080, 'an empty value is the default');
});

t.test('every variable is read', async (t) => {
  const c = loadConfig({
    VERSION: 'v2',
    PORT: '9090',
    HOST: '127.0.0.1',
    TICKET_COUNT: '1000000',
    SEED: '7',
    LOG_LEVEL: 'debug',
    SHUTDOWN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '1',
    KEEP_ALIVE_TIMEOUT_MS: '3000',
    FAULT_ERROR_RATE: '0.25',
    FAULT_DELAY_MS: '10-200',
  });
  t.same(c, {
    version: 'v2',
    port: 9090,
    host: '127.0.0.1',
    ticketCount: 1_000_000,
    seed: 7,
    logLevel: 'debug',
    shutdownDelayMs: 0,
    shutdownTimeoutMs: 1,
    keepAliveTimeoutMs: 3000,
    faultErrorRate: 0.25,
    faultDelayMs: { min: 10, max: 200 },
  });
  t.same(loadConfig({ FAULT_DELAY_MS: '50' }).faultDelayMs, { min: 50, max: 50 }, 'a fixed delay');
  t.equal(loadConfig({ FAULT_DELAY_MS: '0' }).faultDelayMs, undefined, 'no delay is off');
  t.equal(loadConfig({ FAULT_ERROR_RATE: '1' }).faultErrorRate, 1);
});

t.test('a bad value names the variable, the value and what is accepted', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ VERSION: 'v3' }, /^invalid VERSION="v3": expected one of v1, v2$/],
    [{ PORT: 'abc' }, /^invalid PORT="abc": expected an integer from 0 to 65535$/],
    [{ PORT: '65536' }, /PORT="65536"/],
    [{ TICKET_COUNT: '0' }, /^invalid TICKET_COUNT="0": expected an integer from 1 to 1000000$/],
    [{ TICKET_COUNT: '1000001' }, /TICKET_COUNT="1000001"/],
    [{ TICKET_COUNT: '1.5' }, /TICKET_COUNT="1.5"/],
    [{ SEED: '-1' }, /SEED="-1"/],
    [{ SEED: 'x' }, /SEED="x"/],
    [
      { LOG_LEVEL: 'loud' },
      /^invalid LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent$/,
    ],
    [{ SHUTDOWN_DELAY_MS: '-5' }, /SHUTDOWN_DELAY_MS="-5"/],
    [{ SHUTDOWN_TIMEOUT_MS: '0' }, /SHUTDOWN_TIMEOUT_MS="0"/],
    [
      { SHUTDOWN_DELAY_MS: '5000', SHUTDOWN_TIMEOUT_MS: '5000' },
      /^invalid SHUTDOWN_TIMEOUT_MS="5000": expected an integer greater than SHUTDOWN_DELAY_MS \(5000\)/,
    ],
    [{ KEEP_ALIVE_TIMEOUT_MS: '0' }, /^invalid KEEP_ALIVE_TIMEOUT_MS="0": expected an integer from 1 to 3600000$/],
    [{ KEEP_ALIVE_TIMEOUT_MS: '60s' }, /KEEP_ALIVE_TIMEOUT_MS="60s"/],
    [{ HOST: 'a b' }, /HOST="a b"/],
    [{ FAULT_ERROR_RATE: '1.5' }, /^invalid FAULT_ERROR_RATE="1.5": expected a number from 0 to 1$/],
    [{ FAULT_ERROR_RATE: '-0.1' }, /FAULT_ERROR_RATE="-0.1"/],
    [{ FAULT_ERROR_RATE: 'half' }, /FAULT_ERROR_RATE="half"/],
    [
      { FAULT_DELAY_MS: '200-10' },
      /^invalid FAULT_DELAY_MS="200-10": expected milliseconds as N or MIN-MAX, at most 600000$/,
    ],
    [{ FAULT_DELAY_MS: 'slow' }, /FAULT_DELAY_MS="slow"/],
    [{ FAULT_DELAY_MS: '700000' }, /FAULT_DELAY_MS="700000"/],
  ];
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env));
    try {
      loadConfig(env);
    } catch (error) {
      t.type(error, ConfigError);
      t.notMatch((error as Error).message, /\n/, 'one line');
    }
  }
});
