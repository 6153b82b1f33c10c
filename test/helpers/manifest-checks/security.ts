// PeerAuthentication and AuthorizationPolicy: mutual TLS for ecadraft's pods,
// and in every variant exactly its own gateway admitted, reading only, besides
// the callers inside the mesh that the manifests themselves run (a Job of
// their own ServiceAccount, such as the Rollout's split gate). With
// sidecars one policy on the pods does it all. In ambient mode ztunnel
// enforces the policies bound by selector and sees only connections, so the
// pods admit the waypoint and the waypoint (targetRefs) admits the gateway.
import type { Manifest } from '../manifests.ts';
import { isEmptySelector, type LabelSelector, type Namespace, showSelector, type Workload } from './namespace.ts';
import { type Account, ingressGateways, showAccount } from './routing.ts';

interface Source {
  principals?: string[];
  serviceAccounts?: string[];
  namespaces?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

interface Operation {
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
  hosts?: string[];
  notHosts?: string[];
}

interface Rule {
  from?: Array<{ source?: Source }>;
  to?: Array<{ operation?: Operation }>;
  when?: Array<{ key: string }>;
}

interface TargetRef {
  group?: string;
  kind: string;
  name: string;
}

interface AuthorizationPolicySpec {
  selector?: LabelSelector;
  targetRef?: TargetRef;
  targetRefs?: TargetRef[];
  action?: string;
  rules?: Rule[];
}

const READ_ONLY_METHODS = ['GET', 'HEAD', 'OPTIONS'];

// What ztunnel cannot see, as Istio lists it when it converts a policy for ztunnel.
const HTTP_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
const HTTP_SOURCE_FIELDS = [
  'requestPrincipals',
  'notRequestPrincipals',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
] as const;
const L4_CONDITIONS = ['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port'];

const policies = (ns: Namespace) =>
  ns.ofKind<{ spec?: AuthorizationPolicySpec }>('security.istio.io/v1', 'AuthorizationPolicy');

/** Pods a policy or PeerAuthentication selects; reports a selector that takes the whole namespace or nothing. */
function selectedPods(ns: Namespace, m: Manifest, selector: LabelSelector | undefined): Workload[] {
  if (isEmptySelector(selector)) {
    ns.report(m, "selector selects every pod in the namespace; scope it to ecadraft's pods");
    return [];
  }
  const pods = ns.podsSelectedBy(selector as LabelSelector);
  if (pods.length === 0)
    ns.report(m, `selector ${showSelector(selector as LabelSelector)} selects no Deployment's or Rollout's pods`);
  return pods;
}

export function checkPeerAuthentications(ns: Namespace): void {
  for (const { manifest: m, body } of ns.ofKind<{ spec?: { selector?: LabelSelector; mtls?: { mode?: string } } }>(
    'security.istio.io/v1',
    'PeerAuthentication',
  )) {
    selectedPods(ns, m, body.spec?.selector);
    const mode = body.spec?.mtls?.mode;
    if (mode !== 'STRICT')
      ns.report(m, `mtls.mode is ${mode ?? 'unset'}; STRICT is required so that only mesh traffic reaches the pods`);
  }
}

/** The callers a policy must admit, and nobody else; one of each group's accounts is enough. */
interface Expected {
  who: string;
  groups: Array<readonly Account[]>;
  /** Who it may admit besides: the ServiceAccounts defined here, which run the manifests' own callers. */
  callers: readonly Account[];
}

/** ServiceAccounts these manifests define, as a policy in the same namespace names them. */
const definedAccounts = (ns: Namespace): Account[] =>
  ns.ofKind('v1', 'ServiceAccount').map(({ manifest }) => ({ name: manifest.name }));

export function checkAuthorizationPolicies(ns: Namespace): void {
  const gateways = ingressGateways(ns);
  const callers = definedAccounts(ns);
  const gatewaysTo = (services: string[]): Expected => {
    const matching = gateways.filter((g) => services.some((s) => g.services.has(s)));
    return {
      who: `the gateway of these routes (${matching.map((g) => `${g.manifest.kind}/${g.manifest.name}`).join(', ') || 'none routes here'})`,
      groups: matching.flatMap((g) => (g.accounts ? [g.accounts] : [])),
      callers,
    };
  };
  const targeted = new Set<string>();
  for (const { manifest: m, body } of policies(ns)) {
    const spec = body.spec ?? {};
    const action = spec.action ?? 'ALLOW';
    if (action !== 'ALLOW')
      ns.report(m, `action is ${action}; an ALLOW policy is needed so that whatever it does not admit is denied`);
    const targetRefs = spec.targetRefs ?? (spec.targetRef ? [spec.targetRef] : []);
    if (targetRefs.length > 0) {
      if (ns.options.dataplane === 'sidecar') {
        ns.report(
          m,
          'binds by targetRefs, which sidecars do not enforce (waypoints and gateways do), so it has no effect',
        );
        continue;
      }
      const services = waypointTargets(ns, m, targetRefs);
      for (const s of services) targeted.add(s);
      checkRules(ns, m, spec.rules ?? [], gatewaysTo(services), true);
      continue;
    }
    const pods = selectedPods(ns, m, spec.selector);
    const services = [...ns.services.values()].filter((s) => s.pods.some((w) => pods.includes(w)));
    if (ns.options.dataplane === 'sidecar') {
      checkRules(ns, m, spec.rules ?? [], gatewaysTo(services.map((s) => s.manifest.name)), true);
      continue;
    }
    const waypoints = services.flatMap((s) => ns.waypointOf(s) ?? []);
    checkRules(
      ns,
      m,
      spec.rules ?? [],
      {
        who: `the waypoint these pods' Services use (${[...new Set(waypoints.map((w) => w.name))].join(', ') || 'none'})`,
        groups: waypoints.map((w) => [{ name: w.name }]),
        // ztunnel sees the waypoint, not who called through it.
        callers: [],
      },
      false,
    );
  }
  if (ns.options.dataplane === 'ambient') checkWaypointPolicies(ns, targeted);
}

/** In ambient mode, the Services whose waypoint enforces a targetRefs policy; reports targets nothing enforces. */
function waypointTargets(ns: Namespace, m: Manifest, targetRefs: TargetRef[]): string[] {
  const services: string[] = [];
  targetRefs.forEach((ref, i) => {
    const where = `spec.targetRefs[${i}]`;
    if ((ref.group ?? '') === '' && ref.kind === 'Service') {
      const s = ns.services.get(ref.name);
      if (!s) ns.report(m, `${where}: Service ${ref.name} is not defined here`);
      else if (!ns.waypointOf(s))
        ns.report(m, `${where}: Service ${ref.name} uses no waypoint defined here, so nothing enforces this policy`);
      else services.push(s.manifest.name);
    } else if (ref.group === 'gateway.networking.k8s.io' && ref.kind === 'Gateway') {
      const bound = [...ns.services.values()].filter((s) => ns.waypointOf(s)?.name === ref.name);
      if (bound.length === 0) ns.report(m, `${where}: Gateway ${ref.name} is no waypoint that a Service here uses`);
      services.push(...bound.map((s) => s.manifest.name));
    } else ns.report(m, `${where}: ${ref.kind} ${ref.name} is neither a Service nor a waypoint Gateway`);
  });
  return services;
}

/** In ambient mode the pods admit the waypoint; so the waypoint must decide who calls through it, and how. */
function checkWaypointPolicies(ns: Namespace, targeted: Set<string>): void {
  for (const { manifest: m, body } of policies(ns)) {
    if (body.spec?.targetRefs || body.spec?.targetRef || isEmptySelector(body.spec?.selector)) continue;
    const pods = ns.podsSelectedBy(body.spec?.selector as LabelSelector);
    for (const s of ns.services.values()) {
      if (!ns.waypointOf(s) || !s.pods.some((w) => pods.includes(w)) || targeted.has(s.manifest.name)) continue;
      ns.report(
        m,
        `admits the waypoint of Service ${s.manifest.name}, but no policy on that waypoint (targetRefs) restricts who calls through it and how, so every caller in the mesh gets through`,
      );
    }
  }
}

function parseServiceAccount(value: string): Account {
  const at = value.indexOf('/');
  return at < 0 ? { name: value } : { namespace: value.slice(0, at), name: value.slice(at + 1) };
}

/** `cluster.local/ns/<namespace>/sa/<account>`, or undefined for anything else. */
function parsePrincipal(value: string): Account | undefined {
  const match = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(value);
  return match ? { namespace: match[1] as string, name: match[2] as string } : undefined;
}

const sameAccount = (a: Account, b: Account): boolean => a.name === b.name && a.namespace === b.namespace;

function checkRules(ns: Namespace, m: Manifest, rules: Rule[], expected: Expected, http: boolean): void {
  if (rules.length === 0) {
    ns.report(m, 'has no rules, so it admits nothing (or, without ALLOW, restricts nothing)');
    return;
  }
  const allowed = [...expected.groups.flat(), ...expected.callers];
  const admitted: Account[] = [];
  const others = expected.callers.length
    ? ` or a ServiceAccount defined here (${expected.callers.map(showAccount).join(', ')})`
    : '';
  rules.forEach((rule, i) => {
    const where = `spec.rules[${i}]`;
    const sources = (rule.from ?? []).map((f) => f.source ?? {});
    if (sources.length === 0) ns.report(m, `${where}: no from, so any caller is admitted; admit only ${expected.who}`);
    sources.forEach((source, j) => {
      const at = `${where}.from[${j}]`;
      const accounts = (source.serviceAccounts ?? []).map(parseServiceAccount);
      for (const p of source.principals ?? []) {
        const account = parsePrincipal(p);
        if (account) accounts.push(account);
        else
          ns.report(
            m,
            `${at}: principal ${p} is not one workload's identity (cluster.local/ns/<namespace>/sa/<account>)`,
          );
      }
      if (accounts.length === 0 && (source.principals ?? []).length === 0)
        ns.report(m, `${at}: no serviceAccounts or principals, so callers other than ${expected.who} are admitted`);
      for (const a of accounts) {
        admitted.push(a);
        if (allowed.some((e) => sameAccount(e, a))) continue;
        const elsewhere = allowed.find((e) => e.name === a.name && e.namespace === undefined);
        ns.report(
          m,
          elsewhere
            ? `${at}: admits ${showAccount(a)}, but ${expected.callers.includes(elsewhere) ? `ServiceAccount ${elsewhere.name}` : expected.who} runs in the namespace you apply to; name it ${showAccount(elsewhere)} (serviceAccounts without a namespace mean the policy's own)`
            : `${at}: admits ${showAccount(a)}, which is not ${expected.who}${others}`,
        );
      }
    });
    if (http) checkMethods(ns, m, where, rule);
    else checkLayer4(ns, m, where, rule);
  });
  for (const group of expected.groups)
    if (!group.some((e) => admitted.some((a) => sameAccount(a, e))))
      ns.report(
        m,
        `does not admit ${group.map(showAccount).join(' or ')}, ${expected.who}, so every request through it gets 403`,
      );
}

function checkMethods(ns: Namespace, m: Manifest, where: string, rule: Rule): void {
  const operations = (rule.to ?? []).map((t) => t.operation ?? {});
  if (operations.length === 0)
    ns.report(
      m,
      `${where}: no to.operation.methods, so every method is admitted; admit ${READ_ONLY_METHODS.join('/')} only`,
    );
  operations.forEach((op, j) => {
    const methods = op.methods ?? [];
    if (methods.length === 0)
      ns.report(
        m,
        `${where}.to[${j}]: no methods, so every method is admitted; admit ${READ_ONLY_METHODS.join('/')} only`,
      );
    for (const method of methods)
      if (!READ_ONLY_METHODS.includes(method))
        ns.report(m, `${where}.to[${j}]: method ${method} is not read-only (${READ_ONLY_METHODS.join(', ')})`);
  });
}

/** ztunnel drops every rule with HTTP attributes from an ALLOW policy bound by selector. */
function checkLayer4(ns: Namespace, m: Manifest, where: string, rule: Rule): void {
  const found = [
    ...(rule.to ?? []).flatMap((t) => HTTP_OPERATION_FIELDS.filter((f) => (t.operation?.[f] ?? []).length > 0)),
    ...(rule.from ?? []).flatMap((f) => HTTP_SOURCE_FIELDS.filter((k) => (f.source?.[k] ?? []).length > 0)),
    ...(rule.when ?? []).map((w) => w.key).filter((k) => !L4_CONDITIONS.includes(k)),
  ];
  if (found.length > 0)
    ns.report(
      m,
      `${where}: ${[...new Set(found)].join(', ')} are HTTP attributes, and ztunnel drops such a rule from an ALLOW policy bound by selector; a policy left without rules denies everything, the waypoint included. Keep this one to serviceAccounts and put the HTTP rule on the waypoint (targetRefs)`,
    );
}
