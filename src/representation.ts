// An answer of the store, whether computed or cached: its body and the
// validators sent with its 200 and its 304 alike.
export interface Representation {
  /**
   * Text while the answer is one-off; bytes once it is cached and sent again
   * and again. A one-off 10 KB Buffer costs more in garbage collection (its
   * memory lives outside the heap) than writing the text costs.
   */
  body: string | Buffer;
  /** Quoted, ready for the ETag header. */
  etag: string;
  lastModified: string | undefined;
  /** Epoch seconds of `_updated`, for If-Modified-Since on items. */
  modified?: number;
  /** Collections only: every match, not just this page. */
  total?: number;
}

/** What takes headers one at a time, as a Fastify reply does. */
export interface HeaderSink {
  header(name: string, value: string): unknown;
}

/**
 * Sets the validator headers of an answer, sent with its 200 and its 304
 * alike. One call each, with nothing built per request: this runs on every
 * cached answer.
 */
export function setValidatorHeaders(rep: Representation, to: HeaderSink): void {
  to.header('etag', rep.etag);
  if (rep.lastModified !== undefined) to.header('last-modified', rep.lastModified);
  if (rep.total !== undefined) to.header('x-total-count', String(rep.total));
}
