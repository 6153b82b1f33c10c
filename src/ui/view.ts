// The page's tables and lines, drawn from the summaries `ecadraft split` prints,
// with the same percentages and intervals. Text only (textContent): nothing an
// answer carries can become markup.
import { interval, percent } from '../cli/render.ts';
import type { Summary, VersionRow } from '../cli/tally.ts';
import { VERSION_HEADER, VERSION_NAMES } from '../format.ts';

/** The CSS class that gives a version its colour; one not in the table shares a neutral one. */
export function versionClass(version: string): string {
  const index = (VERSION_NAMES as readonly string[]).indexOf(version);
  return index < 0 ? 'version-other' : `version-${index}`;
}

function cell(row: HTMLTableRowElement, text: string, data?: string): HTMLTableCellElement {
  const td = row.insertCell();
  td.textContent = text;
  if (data) td.dataset[data] = text;
  return td;
}

/** A row's first cell: the version's name beside a swatch of its colour, so colour is never the only cue. */
function versionCell(row: HTMLTableRowElement, version: string): void {
  const th = document.createElement('th');
  th.scope = 'row';
  const swatch = document.createElement('span');
  swatch.className = `swatch ${versionClass(version)}`;
  swatch.setAttribute('aria-hidden', 'true');
  th.append(swatch, version);
  row.append(th);
}

function rows(
  table: HTMLTableElement,
  versions: VersionRow[],
  fill: (tr: HTMLTableRowElement, row: VersionRow) => void,
) {
  const body = document.createElement('tbody');
  for (const row of versions) {
    const tr = body.insertRow();
    tr.dataset.version = row.version;
    versionCell(tr, row.version);
    fill(tr, row);
  }
  table.tBodies[0]!.replaceWith(body);
}

export function drawWindow(table: HTMLTableElement, window: Summary): void {
  rows(table, window.versions, (tr, row) => {
    const share = cell(tr, window.answers === 0 ? '-' : percent(row.share), 'share');
    // A bar of the share; set through the CSSOM, which the Content-Security-Policy allows (style attributes it does not).
    const bar = document.createElement('span');
    bar.className = `bar ${versionClass(row.version)}`;
    bar.style.width = `${row.share * 100}%`;
    const track = document.createElement('span');
    track.className = 'track';
    track.setAttribute('aria-hidden', 'true');
    track.append(bar);
    share.prepend(track);
    cell(tr, window.answers === 0 ? '-' : interval(row));
    cell(tr, String(row.count), 'count');
  });
}

export interface TotalsView {
  table: HTMLTableElement;
  errors: HTMLElement;
  classified: HTMLElement;
}

export function drawTotals({ table, errors, classified }: TotalsView, total: Summary): void {
  rows(table, total.versions, (tr, row) => {
    cell(tr, String(row.count), 'count');
    cell(tr, String(row.non2xx), 'non2xx');
  });
  const kinds = Object.entries(total.errors.byKind).map(([kind, n]) => `${kind} ${n}`);
  errors.dataset.errors = String(total.errors.total);
  errors.textContent =
    `Network errors: ${total.errors.total}${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}` +
    `${total.errors.last ? `; last: ${total.errors.last}` : ''}. Non-2xx answers: ${total.non2xx}.`;
  // As split's last line: a proxy that strips the header shows here as answers told apart by casing.
  const { header, casing, none } = total.classifiedBy;
  Object.assign(classified.dataset, { header, casing, none });
  classified.textContent = `Told apart by the ${VERSION_HEADER} header: ${header}; by the casing of the names: ${casing}; not at all: ${none}.`;
}
