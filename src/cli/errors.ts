/**
 * A failure the user can act on: main prints its message as one line and
 * exits with its code, never with a stack trace.
 */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** Exit codes: scripts and pipelines branch on these. */
export const EXIT = { ok: 0, expectationFailed: 1, error: 2, interrupted: 130 } as const;

/**
 * Ctrl-C (or SIGTERM) calls `stop` once, so the command can print what it
 * measured; a second signal exits at once. Returns the function that removes
 * the handlers.
 */
export function onStopSignal(stop: () => void): () => void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(EXIT.interrupted);
    stopping = true;
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
