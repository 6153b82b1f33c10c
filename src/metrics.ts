// Prometheus metrics, labelled with the version so a dashboard shows the split
// and each version's errors and latency side by side.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

interface Series {
  count: ReturnType<Counter<string>['labels']>;
  duration: ReturnType<Histogram<string>['labels']>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<string>;
  readonly #duration: Histogram<string>;
  // prom-client hashes label objects on every call; resolving each label set
  // once keeps a request's bookkeeping to an increment and a bucket search.
  readonly #series = new Map<string, Series>();

  constructor(
    readonly version: string,
    formatter: string,
  ) {
    const labelNames = ['route', 'method', 'status_code', 'version'];
    this.#requests = new Counter({
      name: 'ecadraft_http_requests_total',
      help: 'HTTP requests answered',
      labelNames,
      registers: [this.registry],
    });
    this.#duration = new Histogram({
      name: 'ecadraft_http_request_duration_seconds',
      help: 'Time from request to response',
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    new Gauge({
      name: 'ecadraft_info',
      help: 'The running version and its formatter',
      labelNames: ['version', 'formatter'],
      registers: [this.registry],
    }).set({ version, formatter }, 1);
    collectDefaultMetrics({ register: this.registry });
  }

  record(route: string, method: string, statusCode: number, seconds: number): void {
    const key = `${route} ${method} ${statusCode}`;
    let series = this.#series.get(key);
    if (!series) {
      const labels = { route, method, status_code: statusCode, version: this.version };
      series = { count: this.#requests.labels(labels), duration: this.#duration.labels(labels) };
      this.#series.set(key, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
