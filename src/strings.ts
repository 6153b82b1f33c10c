/**
 * The same text as a flat string. Text built by concatenation is a tree of
 * parts (V8's cons strings) that every later join walks again, which made
 * joining 25 remembered tickets five times slower than copying them; slicing
 * a string makes V8 flatten it once, and the slice reads as one piece.
 */
export function flat(text: string): string {
  return ` ${text}`.slice(1);
}

/** Compare by Unicode code point, not UTF-16 unit (they differ above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i),
      y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800-DFFF) encode code points above every BMP unit, so move
    // them above E000-FFFF before comparing.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
