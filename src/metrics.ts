// Prometheus metrics, labelled with the version so a dashboard shows the split
// and each version's errors and latency side by side.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { RequestMetrics } from './request-metrics.ts';

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export class Metrics {
  readonly #registry = new Registry();
  /** Requests and latency, recorded once per answer by the request path. */
  readonly requests: RequestMetrics;

  constructor(version: string, formatter: string) {
    this.requests = new RequestMetrics(version);
    new Gauge({
      name: 'ecadraft_info',
      help: 'The running version and its formatter',
      labelNames: ['version', 'formatter'],
      registers: [this.#registry],
    }).set({ version, formatter }, 1);
    collectDefaultMetrics({ register: this.#registry });
  }

  async text(): Promise<string> {
    return this.requests.text() + (await this.#registry.metrics());
  }
}
