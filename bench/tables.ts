// A table of results, its cells built once and rendered either as aligned
// text for the terminal or as Markdown for the README, and the units its
// cells are written in. Shared by the benchmark run, the soak and compare.
import { type Align, table } from '../src/cli/render.ts';

export interface Table {
  title: string;
  align: Align[];
  /** The first row is the header. */
  rows: string[][];
}

export const integer = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
export const cores = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(2));
export const times = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(2)}x`);
export const mb = (bytes: number | undefined) => (bytes === undefined ? '-' : `${Math.round(bytes / 1024 / 1024)} MB`);

export function renderText({ title, align, rows }: Table): string {
  return [title, ...table(rows, align).map((line) => `  ${line}`)].join('\n');
}

export function renderMarkdown({ title, align, rows }: Table): string {
  const cells = (row: string[]) => `| ${row.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  const [header = [], ...body] = rows;
  return [
    `**${title}**`,
    '',
    cells(header),
    `|${align.map((a) => (a === 'right' ? ' ---: ' : ' --- ')).join('|')}|`,
    ...body.map(cells),
  ].join('\n');
}
