// Each version's share over time, one point a second, drawn by uPlot. Lines
// differ in dash as well as colour, and the legend names them.
import uPlot from 'uplot';
import type { Summary } from '../cli/tally.ts';
import { versionClass } from './view.ts';

/** Five minutes at one point a second. */
const POINTS = 300;
const HEIGHT = 240;
const DASHES: (number[] | undefined)[] = [undefined, [10, 5], [2, 4], [12, 4, 2, 4]];

/** A version's colour, from the style sheet, so the chart and the tables agree. */
function colourOf(version: string): string {
  const probe = document.createElement('span');
  probe.className = versionClass(version);
  document.body.append(probe);
  const colour = getComputedStyle(probe).color;
  probe.remove();
  return colour;
}

export class ShareChart {
  readonly #plot: uPlot;
  readonly #versions: string[] = [];
  #times: number[] = [];
  #shares: (number | null)[][] = [];

  constructor(readonly container: HTMLElement) {
    const axis = { stroke: getComputedStyle(container).color, grid: { stroke: 'rgba(128, 128, 128, 0.25)' } };
    this.#plot = new uPlot(
      {
        width: this.#width(),
        height: HEIGHT,
        series: [{ label: 'time' }],
        scales: { y: { range: [0, 100] } },
        axes: [axis, { ...axis, values: (_u, ticks) => ticks.map((tick) => `${tick}%`) }],
        legend: { live: false },
        cursor: { show: false },
      },
      [[]],
      container,
    );
    new ResizeObserver(() => this.#plot.setSize({ width: this.#width(), height: HEIGHT })).observe(container);
  }

  #width(): number {
    return Math.max(200, this.container.clientWidth);
  }

  #series(version: string): number {
    let index = this.#versions.indexOf(version);
    if (index >= 0) return index;
    index = this.#versions.push(version) - 1;
    this.#shares.push(this.#times.map(() => null));
    this.#plot.addSeries({
      label: version,
      stroke: colourOf(version),
      width: 2,
      dash: DASHES[index % DASHES.length],
      spanGaps: false,
      points: { show: false },
    });
    return index;
  }

  /** One point: the window's shares now; a window without answers leaves a gap. */
  add(window: Summary, at = Date.now() / 1000): void {
    for (const row of window.versions) this.#series(row.version);
    this.#times.push(at);
    const shares = new Map(window.versions.map((row) => [row.version, row.share * 100]));
    for (const [i, version] of this.#versions.entries())
      this.#shares[i]!.push(window.answers === 0 ? null : (shares.get(version) ?? 0));
    if (this.#times.length > POINTS) {
      this.#times = this.#times.slice(-POINTS);
      this.#shares = this.#shares.map((series) => series.slice(-POINTS));
    }
    this.#plot.setData([this.#times, ...this.#shares]);
  }

  clear(): void {
    this.#times = [];
    this.#shares = this.#shares.map(() => []);
    this.#plot.setData([this.#times, ...this.#shares]);
  }
}
