// Requests and their latency by route, method and status, counted in plain
// arrays and written in Prometheus's text format. prom-client hashes and
// checks a label object on every observation, even through a label set
// resolved once: 0.7 µs a request, more than all the request steps together.
// The text is the one prom-client wrote for these two families, line for line.

/** Upper bounds of the latency buckets, in seconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Each bucket's `le` label, +Inf last. */
const LE = [...LATENCY_BUCKETS.map(String), '+Inf'];

const REQUESTS = 'ecadraft_http_requests_total';
const DURATION = 'ecadraft_http_request_duration_seconds';

class Series {
  /** Observations per bucket, not yet cumulative; the last one is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  /** @param labels - the label pairs as written between braces */
  constructor(readonly labels: string) {}

  observe(seconds: number): void {
    let b = 0;
    while (b < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[b]!) b++;
    this.buckets[b]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** A label value as the text format quotes it. */
const quoted = (value: string) => `"${value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;

export class RequestMetrics {
  /**
   * By route, then method, then status: found with no key built per request
   * (a joined key would be a new string to hash on every answer).
   */
  readonly #series = new Map<string, Map<string, Map<number, Series>>>();
  /** Every series, in the order first seen. */
  readonly #all: Series[] = [];
  readonly #version: string;

  constructor(version: string) {
    this.#version = version;
  }

  record(route: string, method: string, statusCode: number, seconds: number): void {
    let byMethod = this.#series.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#series.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let series = byStatus.get(statusCode);
    if (series === undefined) {
      const labels = `route=${quoted(route)},method=${quoted(method)},status_code="${statusCode}",version=${quoted(this.#version)}`;
      series = new Series(labels);
      byStatus.set(statusCode, series);
      this.#all.push(series);
    }
    series.observe(seconds);
  }

  /** Both families in the text format, each ending in a blank line. */
  text(): string {
    const all = this.#all;
    const requests = all.map((s) => `${REQUESTS}{${s.labels}} ${s.count}`);
    const duration = all.flatMap((s) => {
      let cumulative = 0;
      const buckets = LE.map((le, b) => {
        cumulative += s.buckets[b]!;
        return `${DURATION}_bucket{le="${le}",${s.labels}} ${cumulative}`;
      });
      return [...buckets, `${DURATION}_sum{${s.labels}} ${s.sum}`, `${DURATION}_count{${s.labels}} ${s.count}`];
    });
    return [
      `# HELP ${REQUESTS} HTTP requests answered`,
      `# TYPE ${REQUESTS} counter`,
      ...requests,
      '',
      `# HELP ${DURATION} Time from request to response`,
      `# TYPE ${DURATION} histogram`,
      ...duration,
      '',
      '',
    ].join('\n');
  }
}
