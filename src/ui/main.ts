// The /ui page's script: polls a URL of this origin, tallies the answers with
// the statistics of `ecadraft split`, and redraws the split every second.
// Query parameters preset the controls: ?path=/tickets&rate=10&timeout=5000.
import 'uplot/dist/uPlot.min.css';
import './ui.css';
import type { Outcome } from '../cli/request.ts';
import { SlidingWindow, type Summary, Tally } from '../cli/tally.ts';
import { ShareChart } from './chart.ts';
import { Poller } from './poller.ts';
import { drawTotals, drawWindow } from './view.ts';

const WINDOW_MS = 10_000;
const CONFIDENCE = 0.95;
const RATE = { min: 1, max: 50, default: 10 };
/** As `ecadraft split --timeout`. */
const DEFAULT_TIMEOUT_MS = 5000;

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const form = element<HTMLFormElement>('controls');
const pathInput = element<HTMLInputElement>('path');
const rateInput = element<HTMLInputElement>('rate');
const pauseButton = element<HTMLButtonElement>('pause');
const resetButton = element<HTMLButtonElement>('reset');
const status = element<HTMLParagraphElement>('status');
const splitTable = element<HTMLTableElement>('split');
const totalsView = {
  table: element<HTMLTableElement>('totals'),
  errors: element('errors'),
  classified: element('classified'),
};

const clampRate = (value: number) =>
  Number.isFinite(value) ? Math.min(RATE.max, Math.max(RATE.min, value)) : RATE.default;

/** A path of this origin, or undefined: the page never sends a request anywhere else. */
function sameOriginPath(text: string): string | undefined {
  try {
    const url = new URL(text.trim(), location.origin);
    return url.origin === location.origin ? `${url.pathname}${url.search}` : undefined;
  } catch {
    return undefined;
  }
}

const query = new URLSearchParams(location.search);
pathInput.value = sameOriginPath(query.get('path') ?? '/tickets') ?? '/tickets';
rateInput.value = String(clampRate(Number(query.get('rate') ?? RATE.default)));
const timeoutMs = Math.max(1, Number(query.get('timeout')) || DEFAULT_TIMEOUT_MS);

let total = new Tally();
let recent = new SlidingWindow(WINDOW_MS);
const chart = new ShareChart(element('chart'));

/** The totals keep no latencies: the page shows none, and one left open for hours would sort ever more of them. */
function count(outcome: Outcome): void {
  if (outcome.kind === 'error') total.addFailure(outcome);
  else total.addAnswer(outcome.version, outcome.status, outcome.by);
}

function showStatus(summary: Summary = total.summary(CONFIDENCE)): void {
  const sent = summary.answers + summary.errors.total;
  status.dataset.sent = String(sent);
  // Paused once the request in flight has settled: from then on the counts stay still.
  status.dataset.state = poller.running ? 'running' : poller.idle ? 'paused' : 'pausing';
  pauseButton.textContent = poller.running ? 'Pause' : 'Resume';
  const what = `${poller.options.path} at up to ${poller.options.rate} requests a second`;
  status.textContent = `${poller.running ? 'Polling' : 'Paused:'} ${what}; ${sent} sent since the start.`;
}

function redraw(): void {
  const window = recent.summary(CONFIDENCE);
  drawWindow(splitTable, window);
  chart.add(window);
}

const poller = new Poller({
  path: pathInput.value,
  rate: Number(rateInput.value),
  timeoutMs,
  onOutcome: (outcome) => {
    count(outcome);
    recent.add(outcome);
    const summary = total.summary(CONFIDENCE);
    drawTotals(totalsView, summary);
    showStatus(summary);
  },
  onChange: () => showStatus(),
});

pauseButton.addEventListener('click', () => {
  if (poller.running) {
    poller.pause();
    showStatus();
  } else poller.start();
});

resetButton.addEventListener('click', () => {
  poller.reset();
  total = new Tally();
  recent = new SlidingWindow(WINDOW_MS);
  chart.clear();
  drawTotals(totalsView, total.summary(CONFIDENCE));
  redraw();
  showStatus();
});

function applyRate(): void {
  const rate = clampRate(rateInput.valueAsNumber);
  rateInput.value = String(rate);
  poller.options.rate = rate;
  showStatus();
}
rateInput.addEventListener('change', applyRate);

// Apply (or Enter in a field) applies both; a new path starts the counts again, since
// they would mix two URLs. A path of another origin is refused where it is typed.
form.addEventListener('submit', (event) => {
  event.preventDefault();
  applyRate();
  const path = sameOriginPath(pathInput.value);
  pathInput.setCustomValidity(path ? '' : 'A path of this site, such as /tickets');
  if (!path) {
    pathInput.reportValidity();
    return;
  }
  pathInput.value = path;
  if (path === poller.options.path) return;
  poller.options.path = path;
  resetButton.click();
});

drawTotals(totalsView, total.summary(CONFIDENCE));
redraw();
setInterval(redraw, 1000);
poller.start();
