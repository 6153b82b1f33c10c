// `npm run screenshot:ui`: the README's picture of the /ui page. It runs the
// demo at the 90-10 step, opens the page in headless Chromium, moves the demo
// to 50-50 half-way so the chart shows the shift, and saves docs/ui.png.
import path from 'node:path';
import { launchChromium } from './browser.ts';
import { NodeProcess, ROOT, sleep } from './processes.ts';

const OUT = path.join(ROOT, 'docs', 'ui.png');
/** Seconds at each step: long enough for the 10 s window to settle and the chart to show both. */
const PHASE_S = 25;

const demo = new NodeProcess(path.join(ROOT, 'src', 'demo', 'demo.ts'), {
  nodeArgs: ['--import', 'tsx'],
  args: ['--port', '0', '--step', '90-10', '--seed', '1'],
  input: true,
});
const browser = await launchChromium({ width: 900, height: 900 });
try {
  const page = await demo.waitFor('the page URL', () => /^ {2}page +(\S+)/m.exec(demo.stdout)?.[1], 60_000);
  const tab = await browser.context.newPage();
  await tab.goto(`${page}?rate=20`);
  process.stdout.write(`${page}: ${PHASE_S} s at 90-10, then ${PHASE_S} s at 50-50\n`);
  await sleep(PHASE_S * 1000);
  demo.child.stdin!.write('50-50\n');
  await sleep(PHASE_S * 1000);
  await tab.screenshot({ path: OUT, fullPage: true });
  process.stdout.write(`wrote ${path.relative(ROOT, OUT)}\n`);
} finally {
  await browser.close();
  demo.signal('SIGINT');
  await demo.waitForExit(20_000).catch(() => demo.stop());
}
