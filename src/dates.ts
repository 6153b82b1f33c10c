// RFC 1123 dates as Eve writes them ("Tue, 14 Jul 2020 08:02:11 GMT").
// Times are whole seconds since the epoch throughout: Eve's format has no fraction.

export function formatHttpDate(epochSeconds: number): string {
  // toUTCString is specified to produce exactly this form (zero-padded day, English names).
  return new Date(epochSeconds * 1000).toUTCString();
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
// As Python's strptime("%a, %d %b %Y %H:%M:%S GMT"), which Eve uses: names in any
// case, a one- or two-digit day, and the weekday not checked against the date.
const RFC1123 = /^(?:mon|tue|wed|thu|fri|sat|sun), (\d{1,2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;

/** Epoch seconds of an RFC 1123 date, or undefined when the text is not one. */
export function parseHttpDate(text: string): number | undefined {
  const m = RFC1123.exec(text.trim());
  if (!m) return undefined;
  const [, d, mon, y, hh, mm, ss] = m as unknown as [string, string, string, string, string, string, string];
  const month = MONTHS.indexOf(mon.toLowerCase());
  const day = Number(d),
    year = Number(y),
    hour = Number(hh),
    minute = Number(mm),
    second = Number(ss);
  if (month < 0 || hour > 23 || minute > 59 || second > 61) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March; strptime refuses it.
  if (day < 1 || new Date(ms).getUTCDate() !== day) return undefined;
  return ms / 1000;
}
