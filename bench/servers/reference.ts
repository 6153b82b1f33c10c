// What the two reference servers share with the run that starts them.
export const REFERENCE_READY = 'reference ready';

/** The real server both references copy: its bytes (the ceiling) or its tickets (the baseline). */
export function sourceUrl(): string {
  const url = process.env.SOURCE_URL;
  if (!url) throw new Error("SOURCE_URL (the real server's base URL) is required");
  return url;
}

export const listenOptions = () => ({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });

/** The line bench/children.ts waits for, in the shape ecadraft's own ready line has. */
export function announce(address: string): void {
  process.stdout.write(`${JSON.stringify({ msg: REFERENCE_READY, address })}\n`);
}
