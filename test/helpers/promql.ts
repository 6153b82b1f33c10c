// Test helper: whether a PromQL query asks for series the service really
// serves. A query about a metric or label that does not exist is not an
// error in Prometheus: it returns no data, which an analysis reads as
// Inconclusive forever. So the names and label values in each query are
// checked against a real GET /metrics.
//
// Only what the queries here use is understood: selectors with braces
// (`name{label op "value", ...}`) and `by (...)`/`without (...)` groupings.
// A query with no braced selector is refused rather than passed unchecked.

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  metric: string;
  matchers: Matcher[];
}

const SELECTOR = /([A-Za-z_:][\w:]*)\s*\{([^}]*)\}/g;
const MATCHER = /^\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;
const GROUPING = /\b(?:by|without)\s*\(([^)]*)\)/g;

export function selectorsOf(query: string): Selector[] {
  const selectors: Selector[] = [];
  for (const [, metric = '', body = ''] of query.matchAll(SELECTOR)) {
    const matchers = body
      .split(',')
      .filter((part) => part.trim() !== '')
      .map((part) => {
        const m = MATCHER.exec(part);
        if (!m) throw new Error(`cannot read the label matcher ${JSON.stringify(part.trim())} in ${metric}{...}`);
        return { label: m[1] ?? '', op: m[2] as Matcher['op'], value: JSON.parse(`"${m[3] ?? ''}"`) as string };
      });
    selectors.push({ metric, matchers });
  }
  return selectors;
}

export function groupingLabelsOf(query: string): string[] {
  return [...query.matchAll(GROUPING)].flatMap(([, labels = '']) =>
    labels
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/** Prometheus' text exposition: per series name, the label sets served. */
export function parseExposition(text: string): Map<string, Array<Record<string, string>>> {
  const series = new Map<string, Array<Record<string, string>>>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+\S+/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, name = '', value = ''] of (m[2] ?? '').matchAll(/([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      labels[name] = JSON.parse(`"${value}"`) as string;
    const name = m[1] ?? '';
    series.set(name, [...(series.get(name) ?? []), labels]);
  }
  return series;
}

/** The top-level alternatives of a regex that is a plain `a|b|c`, else the regex itself. */
function alternatives(regex: string): string[] {
  return /[()[\]]/.test(regex) ? [regex] : regex.split('|');
}

/** Prometheus anchors label regexes at both ends. */
const fullMatch = (regex: string, value: string): boolean => new RegExp(`^(?:${regex})$`).test(value);

/**
 * What in `query` the served series contradict: unknown metrics, labels a
 * metric does not have, and positive matchers (each alternative of a regex
 * on its own) that select no served series. `targetLabels` are the labels
 * Prometheus itself attaches to every scraped series (namespace, pod), which
 * /metrics cannot show.
 */
export function checkQuery(
  query: string,
  served: Map<string, Array<Record<string, string>>>,
  targetLabels: readonly string[],
): string[] {
  const problems: string[] = [];
  const selectors = selectorsOf(query);
  if (selectors.length === 0) return ['has no selector of the form metric{...} to check'];
  const labelsOf = (metric: string): Set<string> =>
    new Set((served.get(metric) ?? []).flatMap((labels) => Object.keys(labels)));
  for (const { metric, matchers } of selectors) {
    const series = served.get(metric);
    if (!series) {
      const similar = [...served.keys()].filter((name) => name.startsWith(metric.split('_').slice(0, 2).join('_')));
      problems.push(
        `metric ${metric} is not served by /metrics${similar.length > 0 ? ` (served: ${similar.join(', ')})` : ''}`,
      );
      continue;
    }
    const labels = labelsOf(metric);
    for (const m of matchers) {
      if (targetLabels.includes(m.label)) continue;
      if (!labels.has(m.label)) {
        problems.push(`${metric} has no label ${m.label} (labels: ${[...labels].sort().join(', ')})`);
        continue;
      }
      if (m.op === '!=' || m.op === '!~') continue;
      const values = new Set(series.map((s) => s[m.label] ?? ''));
      const parts = m.op === '=' ? [m.value] : alternatives(m.value);
      for (const part of parts) {
        const matches = [...values].some((v) => (m.op === '=' ? v === part : fullMatch(part, v)));
        if (!matches)
          problems.push(
            `${metric}{${m.label}${m.op}"${m.value}"}: ${JSON.stringify(part)} matches none of the served values ${[...values].sort().join(', ')}`,
          );
      }
    }
  }
  const allLabels = new Set([...targetLabels, ...selectors.flatMap((s) => [...labelsOf(s.metric)])]);
  for (const label of groupingLabelsOf(query)) {
    if (!allLabels.has(label)) problems.push(`groups by ${label}, which none of its metrics has`);
  }
  return problems;
}
