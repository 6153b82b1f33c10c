// The process: read the configuration, listen, and stop without dropping requests.
import { type Config, ConfigError, loadConfig } from './config.ts';
import { Draining } from './draining.ts';

function die(message: string): never {
  process.stderr.write(`ecadraft: ${message}\n`);
  process.exit(2);
}

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) die(error.message);
  throw error;
}

// Loaded only once the configuration is valid, so a bad one is reported at once.
const { buildApp } = await import('./app.ts');
const draining = new Draining();
const app = await buildApp(config, { draining });
try {
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  const { code, message } = error as NodeJS.ErrnoException;
  die(`cannot listen on ${config.host}:${config.port}: ${code ?? message}`);
}
app.log.info(
  {
    address: app.listeningOrigin,
    tickets: config.ticketCount,
    startupMs: Math.round(performance.now()),
  },
  'ecadraft ready',
);

const { shutdownDelayMs, shutdownTimeoutMs } = config;
let stopping = false;

function stop(signal: NodeJS.Signals): void {
  if (stopping) {
    app.log.warn({ signal }, 'second stop signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  draining.active = true;
  app.log.info(
    { signal, shutdownDelayMs, shutdownTimeoutMs },
    'stopping: readiness fails, still serving during the delay',
  );
  setTimeout(() => {
    app.log.error({ shutdownTimeoutMs }, 'shutdown took too long: exiting');
    process.exit(1);
  }, shutdownTimeoutMs).unref();
  setTimeout(() => {
    // Closing resets connections still queued for accept and closes accepted ones whose request
    // is not read yet. A loop turn accepts what is queued, the next one reads it; after a busy
    // spell the timer can run before either, so the close waits for both turns.
    setImmediate(() => setImmediate(close));
  }, shutdownDelayMs);
}

function close(): void {
  app.log.info('closing the listener and draining connections');
  app.close().then(
    () => {
      app.log.info('stopped');
      process.exit(0);
    },
    (error: unknown) => {
      app.log.error({ err: error }, 'close failed');
      process.exit(1);
    },
  );
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
