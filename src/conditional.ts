// Conditional GET: RFC 9110's rules as Eve applies them, plus 304s on collections.
import { parseHttpDate } from './dates.ts';

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/** If-None-Match uses the weak comparison: W/"x" matches "x". */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const ours = opaque(etag);
  return header.split(',').some((tag) => opaque(tag) === ours);
}

export interface Validators {
  etag: string;
  /** Epoch seconds; only items honour If-Modified-Since (Eve disabled it on collections). */
  modified?: number | undefined;
}

export function isNotModified(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  v: Validators,
): boolean {
  // A malformed date is ignored, as if the header were absent.
  const since = ifModifiedSince === undefined || v.modified === undefined ? undefined : parseHttpDate(ifModifiedSince);
  if (ifNoneMatch === undefined && since === undefined) return false;
  if (ifNoneMatch !== undefined && !etagMatches(ifNoneMatch, v.etag)) return false;
  // Eve allows a second of slack.
  return since === undefined || v.modified! <= since + 1;
}
