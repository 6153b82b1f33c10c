// Envoy configuration made from the repository's own routing files: the
// DestinationRule of kubernetes/ecadraft1.yaml and the ingress VirtualService
// of a walkthrough step, translated as Istio's control plane translates them
// for its ingress gateway. It is a hand-written fallback for Istio's own
// translation (istio.io/istio's pilot packages did not build here): each field
// below names the function of Istio 1.32's pilot it follows (read at
// istio.io/istio v0.0.0-20260827124520-eed52ebb66ad, master after the 1.31
// branch: the development line of 1.32), so a
// reader can check it, and only what our files use is translated; anything
// else in them is refused rather than dropped.
//
// Endpoints are not here: each subset's cluster reads them from a file Envoy
// watches (file-based EDS, see envoy.ts), as Istio streams them over EDS.
//
// Print the configuration for a step:
//   node --import tsx src/demo/envoy-config.ts kubernetes/ecadraft-virtual-service-50-50.yaml
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The file that holds the DestinationRule (and the Gateway) of the walkthrough. */
export const DESTINATION_RULE_FILE = path.join(ROOT, 'kubernetes', 'ecadraft1.yaml');

/** The Istio release whose translation the configuration follows. */
export const ISTIO_RELEASE = '1.32';

/** Where the manifests live in the walkthrough; part of every cluster's name, as in Istio's. */
const NAMESPACE = 'default';
/** The Service port of kubernetes/ecadraft1.yaml, part of every cluster's name. */
const SERVICE_PORT = 80;

type Json = Record<string, unknown>;

interface Duration {
  seconds: number;
}

interface OutlierDetection {
  consecutive5xxErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
}

interface TrafficPolicy {
  connectionPool?: { http?: { idleTimeout?: string } };
  outlierDetection?: OutlierDetection;
}

export interface DestinationRule {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets: { name: string; labels?: Record<string, string>; trafficPolicy?: TrafficPolicy }[];
}

interface Destination {
  host: string;
  subset?: string;
}

export interface HttpRule {
  name?: string;
  match?: { headers?: Record<string, { exact?: string; prefix?: string }> }[];
  route: { destination: Destination; weight?: number }[];
  mirror?: Destination;
  mirrorPercentage?: { value: number };
}

interface Manifest {
  kind?: string;
  metadata?: { name?: string };
  spec?: Json;
}

function manifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
}

function only(file: string, what: string, found: Manifest[]): Manifest {
  if (found.length !== 1) throw new Error(`${file}: expected one ${what}, found ${found.length}`);
  return found[0]!;
}

/** Refuses what the translation below does not cover, so nothing in our files is silently dropped. */
function refuseUnknown(file: string, where: string, value: object, known: string[]): void {
  const extra = Object.keys(value).filter((key) => !known.includes(key));
  if (extra.length > 0)
    throw new Error(`${file}: ${where} has ${extra.join(', ')}, which this translation does not cover`);
}

export function readDestinationRule(file = DESTINATION_RULE_FILE): DestinationRule {
  const doc = only(
    file,
    'DestinationRule',
    manifests(file).filter((m) => m.kind === 'DestinationRule'),
  );
  return checkDestinationRule(file, doc.spec as unknown as DestinationRule);
}

/**
 * A DestinationRule's spec (from a file, or as an API server holds it),
 * refused where it has what this translation does not cover. Subset labels
 * choose endpoints, not configuration: they are left to whoever fills the
 * endpoint files.
 */
export function checkDestinationRule(where: string, spec: DestinationRule): DestinationRule {
  refuseUnknown(where, 'the DestinationRule', spec, ['host', 'trafficPolicy', 'subsets']);
  for (const subset of spec.subsets) refuseUnknown(where, 'a subset', subset, ['name', 'labels', 'trafficPolicy']);
  for (const policy of [spec.trafficPolicy, ...spec.subsets.map((s) => s.trafficPolicy)]) {
    if (policy) refuseUnknown(where, 'a trafficPolicy', policy, ['connectionPool', 'outlierDetection']);
  }
  return spec;
}

/** The ingress VirtualService of a step file (`ecadraft`, bound to the gateway); `ecadraft-mesh` routes in-mesh callers the same way. */
export function readVirtualService(file: string): HttpRule[] {
  const doc = only(
    file,
    'VirtualService named ecadraft',
    manifests(file).filter((m) => m.kind === 'VirtualService' && m.metadata?.name === 'ecadraft'),
  );
  return checkHttpRules(file, ((doc.spec as { http?: HttpRule[] }).http ?? []) as HttpRule[]);
}

/** A VirtualService's http rules (from a file, or as an API server holds them), refused where this translation does not cover them. */
export function checkHttpRules(where: string, rules: HttpRule[]): HttpRule[] {
  if (rules.length === 0) throw new Error(`${where}: the VirtualService has no http rules`);
  for (const rule of rules) {
    refuseUnknown(where, 'an http rule', rule, ['name', 'match', 'route', 'mirror', 'mirrorPercentage']);
    for (const match of rule.match ?? []) refuseUnknown(where, 'a match', match, ['headers']);
  }
  return rules;
}

/** `10s`, `1.5s`, `100ms` as Istio's API writes durations. */
function duration(text: string): Duration {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return { seconds: Number(m[1]) * scale };
}

const protoDuration = (d: Duration) => `${d.seconds}s`;

/**
 * The cluster name of a subset: outbound|<port>|<subset>|<FQDN>, as
 * pilot/pkg/model/service.go BuildSubsetKey names it.
 */
export function clusterName(host: string, subset = ''): string {
  const fqdn = host.includes('.') ? host : `${host}.${NAMESPACE}.svc.cluster.local`;
  return `outbound|${SERVICE_PORT}|${subset}|${fqdn}`;
}

/**
 * A subset's policy over the host's, field by field, as
 * pilot/pkg/model/destination_rule.go MergeTrafficPolicy merges them.
 */
function merged(host: TrafficPolicy | undefined, subset: TrafficPolicy | undefined): TrafficPolicy {
  return {
    connectionPool: subset?.connectionPool ?? host?.connectionPool,
    outlierDetection: subset?.outlierDetection ?? host?.outlierDetection,
  };
}

/**
 * Envoy's outlier detection from a DestinationRule's, as
 * pilot/pkg/networking/core/cluster_traffic_policy.go applyOutlierDetection
 * writes it.
 */
function outlierDetection(outlier: OutlierDetection): Json {
  const out: Json = {
    // "SuccessRate based outlier detection should be disabled."
    enforcing_success_rate: 0,
  };
  if (outlier.consecutive5xxErrors !== undefined) {
    out.consecutive_5xx = outlier.consecutive5xxErrors;
    out.enforcing_consecutive_5xx = outlier.consecutive5xxErrors > 0 ? 100 : 0;
  }
  if (outlier.interval) out.interval = protoDuration(duration(outlier.interval));
  if (outlier.baseEjectionTime) out.base_ejection_time = protoDuration(duration(outlier.baseEjectionTime));
  if (outlier.maxEjectionPercent) out.max_ejection_percent = outlier.maxEjectionPercent;
  return out;
}

export interface ClusterOptions {
  /** The file Envoy watches for a cluster's endpoints (a DiscoveryResponse with its ClusterLoadAssignment). */
  edsFile: (cluster: string) => string;
  /** Overrides the DestinationRule's idle timeout (`90s`): the reset-race control of the tests puts it past the app's keep-alive. */
  idleTimeout?: string;
}

/** One cluster per subset of the DestinationRule. */
export function clusters(rule: DestinationRule, options: ClusterOptions): Json[] {
  return rule.subsets.map((subset) => {
    const name = clusterName(rule.host, subset.name);
    const policy = merged(rule.trafficPolicy, subset.trafficPolicy);
    const idle = options.idleTimeout ?? policy.connectionPool?.http?.idleTimeout;
    const edsFile = options.edsFile(name);
    const cluster: Json = {
      name,
      type: 'EDS',
      eds_cluster_config: {
        service_name: name,
        eds_config: {
          // Envoy reloads the file when one is moved into its directory: see envoy.ts's atomic rewrite.
          path_config_source: { path: edsFile, watched_directory: { path: path.dirname(edsFile) } },
          resource_api_version: 'V3',
        },
      },
      // cluster_builder.go buildCluster: the mesh's connectTimeout, 10 s by default (pkg/config/mesh DefaultMeshConfig).
      connect_timeout: '10s',
      // cluster_traffic_policy.go applyLoadBalancer: defaultLBAlgorithm() when the rule names none.
      lb_policy: 'LEAST_REQUEST',
      // cluster_traffic_policy.go applyConnectionPool, from getDefaultCircuitBreakerThresholds: no limits, so a
      // rolling update's retries are never refused by Envoy's default of 3 parallel retries.
      circuit_breakers: {
        thresholds: [
          {
            max_connections: 4294967295,
            max_pending_requests: 4294967295,
            max_requests: 4294967295,
            max_retries: 4294967295,
            track_remaining: true,
          },
        ],
      },
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          // cluster_traffic_policy.go applyConnectionPool: connectionPool.http.idleTimeout becomes the
          // upstream connections' idle timeout (Envoy's default, without it, is 1 h).
          ...(idle ? { common_http_protocol_options: { idle_timeout: protoDuration(duration(idle)) } } : {}),
          // A port named http: HTTP/1.1 to the pods (cluster_builder.go setUpstreamProtocol).
          explicit_http_config: { http_protocol_options: {} },
        },
      },
    };
    if (policy.outlierDetection) {
      cluster.outlier_detection = outlierDetection(policy.outlierDetection);
      // applyOutlierDetection: "Disable panic threshold by default as its not typically applicable in k8s
      // environments with few pods per service" (minHealthPercent 0): a subset whose pods are all ejected or
      // gone answers 503 rather than sending to them anyway.
      cluster.common_lb_config = { healthy_panic_threshold: { value: 0 } };
    }
    return cluster;
  });
}

/**
 * Istio's default retry policy, for a route whose VirtualService sets no
 * `retries`: pilot/pkg/networking/core/route/retry/retry.go DefaultPolicy
 * (applied by route.go applyHTTPRouteDestination through ConvertPolicy). It
 * names retriable-status-codes but, since Istio 1.2x, no status code: a 503
 * from the app is not retried, nor is a reset on an open connection; a
 * refused connection is, on another host.
 */
export const DEFAULT_RETRY_POLICY: Json = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  // pilot/pkg/xds/filters/filters.go RetryPreviousHosts: a retry goes to another pod than the one that failed.
  retry_host_predicate: [
    {
      name: 'envoy.retry_host_predicates.previous_hosts',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
      },
    },
  ],
  host_selection_retry_max_attempts: 5,
};

/** A header match, as route.go translateHeaderMatch (util.ConvertToEnvoyMatch) writes it. */
function headerMatch(name: string, match: { exact?: string; prefix?: string }): Json {
  if (match.exact !== undefined) return { name, string_match: { exact: match.exact } };
  if (match.prefix !== undefined) return { name, string_match: { prefix: match.prefix } };
  throw new Error(`header ${name}: only exact and prefix matches are translated`);
}

/** A mirror's share, as route.go MirrorPercent and translatePercentToFractionalPercent write it (100% without mirrorPercentage). */
function mirrorFraction(rule: HttpRule): Json | undefined {
  const percent = rule.mirrorPercentage?.value;
  if (percent === undefined) return { default_value: { numerator: 100, denominator: 'HUNDRED' } };
  if (percent <= 0) return undefined;
  return { default_value: { numerator: Math.round(percent * 10_000), denominator: 'MILLION' } };
}

/** One Envoy route per rule and match, as route.go TranslateRoute and applyHTTPRouteDestination build them. */
function routes(rules: HttpRule[]): Json[] {
  return rules.flatMap((rule, index) => {
    const action: Json = {
      // route.go setTimeout: no route timeout unless the VirtualService sets one (Envoy's default is 15 s).
      timeout: '0s',
      retry_policy: DEFAULT_RETRY_POLICY,
    };
    const destinations = rule.route.filter((r) => rule.route.length === 1 || (r.weight ?? 0) > 0);
    if (destinations.length === 1) {
      const only = destinations[0]!.destination;
      action.cluster = clusterName(only.host, only.subset);
    } else {
      action.weighted_clusters = {
        clusters: destinations.map((r) => ({
          name: clusterName(r.destination.host, r.destination.subset),
          weight: r.weight,
        })),
      };
    }
    if (rule.mirror) {
      const fraction = mirrorFraction(rule);
      if (fraction) {
        // route.go TranslateRequestMirrorPolicy; trace_sampled false, as Istio sets it.
        action.request_mirror_policies = [
          {
            cluster: clusterName(rule.mirror.host, rule.mirror.subset),
            runtime_fraction: fraction,
            trace_sampled: false,
          },
        ];
      }
    }
    const name = rule.name ?? `rule-${index}`;
    // route.go TranslateRouteMatch: a rule without a uri match matches every path (prefix /).
    const matches = rule.match?.length ? rule.match : [{}];
    return matches.map((match) => ({
      name,
      match: {
        prefix: '/',
        ...(match.headers
          ? { headers: Object.entries(match.headers).map(([header, value]) => headerMatch(header, value)) }
          : {}),
      },
      route: action,
    }));
  });
}

/**
 * The gateway's route configuration for a step's VirtualService: one virtual
 * host for every Host (the VirtualService's `hosts: ["*"]`), as gateway.go
 * buildGatewayHTTPRouteConfig builds it.
 */
export function routeConfiguration(rules: HttpRule[]): Json {
  return {
    '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
    name: 'http.80',
    virtual_hosts: [{ name: '*:80', domains: ['*'], routes: routes(rules) }],
  };
}

/** A file-based xDS resource file: what Envoy reads at a path_config_source. */
export function discoveryResponse(version: number, resources: Json[]): Json {
  return { version_info: String(version), resources };
}

/** One cluster's endpoints, as EDS carries them. */
export function clusterLoadAssignment(cluster: string, endpoints: readonly { host: string; port: number }[]): Json {
  return {
    '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
    cluster_name: cluster,
    endpoints: [
      {
        lb_endpoints: endpoints.map(({ host, port }) => ({
          endpoint: { address: { socket_address: { address: host, port_value: port } } },
        })),
      },
    ],
  };
}

export interface BootstrapOptions extends ClusterOptions {
  /** The gateway listener's port on 127.0.0.1 (0: the OS picks; the admin's /listeners tells which). */
  port: number;
  /**
   * The route configuration file Envoy watches, rewritten to apply another
   * step; or the route configuration itself, inline (`--mode validate` checks
   * only what the bootstrap holds).
   */
  routes: { file: string } | { inline: Json };
}

/** A resource without its `@type`, as a bootstrap embeds it. */
function withoutType({ '@type': _type, ...rest }: Json): Json {
  return rest;
}

/**
 * A whole Envoy bootstrap: admin and the gateway listener on 127.0.0.1 only,
 * the subsets' clusters, the routes from a watched file. The listener is a
 * plain HTTP connection manager with its router: Istio's gateway adds its own
 * filters there (istio.stats, istio.metadata_exchange, the authn and authz
 * filters), which upstream Envoy lacks and which change no routing decision.
 */
export function bootstrap(rule: DestinationRule, options: BootstrapOptions): Json {
  return {
    node: { id: 'ecadraft-gateway', cluster: 'istio-ingressgateway' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        {
          name: 'gateway-http',
          address: { socket_address: { address: '127.0.0.1', port_value: options.port } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'gateway',
                    ...('inline' in options.routes
                      ? { route_config: withoutType(options.routes.inline) }
                      : {
                          rds: {
                            route_config_name: 'http.80',
                            config_source: {
                              path_config_source: {
                                path: options.routes.file,
                                watched_directory: { path: path.dirname(options.routes.file) },
                              },
                              resource_api_version: 'V3',
                            },
                          },
                        }),
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: clusters(rule, options),
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node --import tsx src/demo/envoy-config.ts <VirtualService file>\n');
    process.exit(2);
  }
  const rule = readDestinationRule();
  const edsFile = (cluster: string) => path.join('eds', `${cluster.split('|')[2]}.json`);
  const config = {
    bootstrap: bootstrap(rule, { port: 8080, routes: { file: path.join('routes', 'routes.json') }, edsFile }),
    routes: discoveryResponse(1, [routeConfiguration(readVirtualService(path.resolve(file)))]),
  };
  process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
}
