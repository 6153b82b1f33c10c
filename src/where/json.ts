// The JSON a `where` filter is made of, and the 400 a `where` that cannot be
// parsed gets, shared by the parsers and the conditions built from them.
import { badRequest } from '../eve-errors.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function unparsable(detail: string): never {
  throw badRequest(`Unable to parse \`where\` clause: ${detail}`);
}

export const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
