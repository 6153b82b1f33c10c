// The one table that maps a version to what it looks like. A new version (say
// v3) is one more entry here; nothing else in the code names a version.

// Title case is not upper case for these four digraphs (Unicode Lt category).
const TITLE_DIGRAPHS: Record<string, string> = {
  Ǆ: 'ǅ',
  ǅ: 'ǅ',
  ǆ: 'ǅ',
  Ǉ: 'ǈ',
  ǈ: 'ǈ',
  ǉ: 'ǈ',
  Ǌ: 'ǋ',
  ǋ: 'ǋ',
  ǌ: 'ǋ',
  Ǳ: 'ǲ',
  ǲ: 'ǲ',
  ǳ: 'ǲ',
};

// A word starts at the beginning and after whitespace or a hyphen. Lower-casing
// the whole name first keeps context-dependent mappings (Greek final sigma)
// right; toLowerCase/toUpperCase are locale-independent, unlike their
// toLocale* siblings.
const WORD_START = /(?<=^|[\s-])./gsu;

export function titleCase(name: string): string {
  return name.toLowerCase().replace(WORD_START, (ch) => TITLE_DIGRAPHS[ch] ?? ch.toUpperCase());
}

export function upperCase(name: string): string {
  return name.toUpperCase();
}

export interface Formatter {
  /** What /version reports. */
  readonly name: string;
  readonly format: (customer: string) => string;
}

export const FORMATTERS = {
  v1: { name: 'title-case', format: titleCase },
  v2: { name: 'upper-case', format: upperCase },
} as const satisfies Record<string, Formatter>;

export type VersionName = keyof typeof FORMATTERS;

export const VERSION_NAMES = Object.keys(FORMATTERS) as VersionName[];

/** The header every answer names its version in, so tools tell versions apart without reading the body. */
export const VERSION_HEADER = 'x-ecadraft-version';

export function isVersionName(value: string): value is VersionName {
  return Object.hasOwn(FORMATTERS, value);
}
