// The Envoy configuration src/demo/envoy-config.ts makes from the repository's
// routing files, read as Envoy reads it: the values of the DestinationRule and
// the VirtualServices land in the fields Istio's pilot puts them in, and what
// the translation does not cover is refused, not dropped. (Whether Envoy
// accepts it and routes by it: test/real/envoy-routing.test.ts.)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseAllDocuments, stringify } from 'yaml';
import {
  clusterName,
  clusters,
  DEFAULT_RETRY_POLICY,
  readDestinationRule,
  readVirtualService,
  routeConfiguration,
} from '../src/demo/envoy-config.ts';
import { ROOT } from './helpers/process.ts';

// biome-ignore lint/suspicious/noExplicitAny: Envoy's JSON, read field by field as Envoy reads it.
type Json = Record<string, any>;

/** `10s` as the DestinationRule writes it, in Envoy's form (`10s`, `0.5s`). */
const seconds = (duration: string | undefined) => `${Number.parseFloat(duration ?? '')}s`;

const vs = (step: string) => path.join(ROOT, 'kubernetes', `ecadraft-virtual-service-${step}.yaml`);
const routesOf = (step: string) =>
  (routeConfiguration(readVirtualService(vs(step))) as Json).virtual_hosts[0].routes as Json[];
const v1 = clusterName('ecadraft', 'v1');
const v2 = clusterName('ecadraft', 'v2');

t.test("one cluster per subset, with the DestinationRule's policy", async (t) => {
  const rule = readDestinationRule();
  const built = clusters(rule, { edsFile: (name) => `/eds/${name}` }) as Json[];
  t.same(
    built.map((c) => c.name),
    rule.subsets.map((s) => `outbound|80|${s.name}|ecadraft.default.svc.cluster.local`),
  );
  for (const [i, cluster] of built.entries()) {
    const subset = rule.subsets[i]!;
    const outlier = subset.trafficPolicy?.outlierDetection ?? rule.trafficPolicy?.outlierDetection;
    t.same(
      cluster.outlier_detection,
      {
        enforcing_success_rate: 0,
        consecutive_5xx: outlier?.consecutive5xxErrors,
        enforcing_consecutive_5xx: 100,
        interval: seconds(outlier?.interval),
        base_ejection_time: seconds(outlier?.baseEjectionTime),
        max_ejection_percent: outlier?.maxEjectionPercent,
      },
      `${subset.name}: its outlierDetection`,
    );
    t.same(cluster.common_lb_config, { healthy_panic_threshold: { value: 0 } }, `${subset.name}: no panic mode`);
    const options = cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    t.equal(
      options.common_http_protocol_options.idle_timeout,
      seconds(rule.trafficPolicy?.connectionPool?.http?.idleTimeout),
      `${subset.name}: the host's idle timeout`,
    );
    t.equal(
      cluster.eds_cluster_config.eds_config.path_config_source.path,
      `/eds/${cluster.name}`,
      'endpoints from a file',
    );
  }
  const late = clusters(rule, { edsFile: () => '/eds/x', idleTimeout: '90s' }) as Json[];
  t.equal(
    late[0]!.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']
      .common_http_protocol_options.idle_timeout,
    '90s',
    'an idle timeout can be set instead (the reset-race control)',
  );
});

t.test('the routes of every step', async (t) => {
  const weights = (route: Json) =>
    route.route.weighted_clusters?.clusters.map((c: Json) => [c.name, c.weight]) ?? [[route.route.cluster, 100]];
  t.same(weights(routesOf('v1')[0]!), [[v1, 100]], 'v1: one cluster');
  t.same(
    weights(routesOf('90-10')[0]!),
    [
      [v1, 90],
      [v2, 10],
    ],
    '90-10: weighted',
  );
  t.same(
    weights(routesOf('50-50')[0]!),
    [
      [v1, 50],
      [v2, 50],
    ],
    '50-50: weighted',
  );
  t.same(weights(routesOf('v2')[0]!), [[v2, 100]], 'v2: one cluster');
  for (const step of ['v1', '90-10', '50-50', 'v2', 'header-canary', 'mirror']) {
    for (const route of routesOf(step)) {
      t.equal(route.route.retry_policy, DEFAULT_RETRY_POLICY, `${step}: Istio's default retries`);
      t.equal(route.route.timeout, '0s', `${step}: no route timeout`);
    }
  }

  const [canary, rest] = routesOf('header-canary');
  t.same(canary!.match, { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] });
  t.equal(canary!.route.cluster, v2, 'x-canary: true goes to v2');
  t.same(rest!.match, { prefix: '/' }, 'then everything else');
  t.equal(rest!.route.cluster, v1, 'to v1');

  const [mirror] = routesOf('mirror');
  t.equal(mirror!.route.cluster, v1, 'the mirror step serves from v1');
  t.same(mirror!.route.request_mirror_policies, [
    {
      cluster: v2,
      runtime_fraction: { default_value: { numerator: 1_000_000, denominator: 'MILLION' } },
      trace_sampled: false,
    },
  ]);
});

t.test('what the translation does not cover is refused', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ecadraft-envoy-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const docs = parseAllDocuments(readFileSync(vs('50-50'), 'utf8')).map((d) => d.toJS() as Json);
  docs[0]!.spec.http[0].retries = { attempts: 3 };
  const file = path.join(dir, 'vs.yaml');
  writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
  t.throws(() => readVirtualService(file), /an http rule has retries, which this translation does not cover/);
});
