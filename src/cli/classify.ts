// Which version answered: the header says so, and when a proxy has stripped
// it, the casing of the customer names does. Versions come from the service's
// own formatter table, so a new version needs no change here.
import { FORMATTERS, type Formatter, VERSION_HEADER } from '../versions.ts';

export const UNKNOWN = 'unknown';

export type Classification =
  | { by: 'header' | 'casing'; version: string }
  | { by: 'none'; version: typeof UNKNOWN; reason: 'not-json' | 'no-customers' | 'no-version-fits' | 'several-fit' };

type Headers = Record<string, string | string[] | number | undefined>;

/** A header's first value, whatever the case of its name (autocannon keeps the server's spelling). */
export function headerValue(headers: Headers, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  const first = Array.isArray(value) ? value[0] : value;
  const text = first === undefined ? '' : String(first).trim();
  return text === '' ? undefined : text;
}

/** Customer names of an Eve page (`_items[].customer`) or of one ticket (`customer`). */
export function customersOf(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const record = body as Record<string, unknown>;
  const items = Array.isArray(record._items) ? (record._items as unknown[]) : [record];
  return items.flatMap((item) => {
    const customer = (item as Record<string, unknown> | null)?.customer;
    return typeof customer === 'string' ? [customer] : [];
  });
}

/**
 * The one version whose formatter leaves every name unchanged. A name such as
 * `3M` is a fixed point of several formatters and tells nothing on its own,
 * but a page has enough names that one version remains.
 */
export function versionFromCustomers(
  customers: readonly string[],
  formatters: Readonly<Record<string, Formatter>> = FORMATTERS,
): Classification {
  if (customers.length === 0) return { by: 'none', version: UNKNOWN, reason: 'no-customers' };
  const fits = Object.entries(formatters)
    .filter(([, formatter]) => customers.every((c) => formatter.format(c) === c))
    .map(([version]) => version);
  if (fits.length === 1) return { by: 'casing', version: fits[0]! };
  return { by: 'none', version: UNKNOWN, reason: fits.length === 0 ? 'no-version-fits' : 'several-fit' };
}

/** Parses the body only when the header is missing: the header is the cheap, common case. */
export function classify(
  headers: Headers,
  body: string,
  formatters?: Readonly<Record<string, Formatter>>,
): Classification {
  const version = headerValue(headers, VERSION_HEADER);
  if (version !== undefined) return { by: 'header', version };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { by: 'none', version: UNKNOWN, reason: 'not-json' };
  }
  return versionFromCustomers(customersOf(json), formatters);
}
