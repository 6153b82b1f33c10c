// The /ui page in a real browser (headless Chromium), through `npm run demo`
// at the 90-10 step, as a team would put it on a screen. What the browser
// itself received (its network events) is the reference: the page's counts
// must equal it, every poll must reach a server, and the page must keep its
// rate and its origin, survive a version that stops answering, hold its
// Content-Security-Policy, and work at 360 px and with the keyboard.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import t from 'tap';
import { CHROMIUM, chromiumInstalled, launchChromium } from '../../src/demo/browser.ts';
import { VERSION_HEADER } from '../../src/versions.ts';
import { NodeProcess, ROOT } from '../helpers/process.ts';

const DEMO = path.join(ROOT, 'src', 'demo', 'demo.ts');
const RATE = 20;
const TIMEOUT_MS = 1500;

interface Row {
  count?: string;
  non2xx?: string;
  share?: string;
}
interface PageState {
  state: string;
  sent: number;
  errors: number;
  totals: Record<string, Row>;
  window: Record<string, Row>;
  focused: string;
  classified: { header: number; casing: number; none: number };
}

// Read through the DevTools protocol, which the page's Content-Security-Policy does not govern.
const STATE = `(() => {
  const table = (id) => Object.fromEntries([...document.querySelectorAll('#' + id + ' tbody tr')].map((tr) =>
    [tr.dataset.version, Object.fromEntries([...tr.querySelectorAll('td')].flatMap((td) => Object.entries(td.dataset)))]));
  const status = document.getElementById('status').dataset;
  return { state: status.state, sent: Number(status.sent), errors: Number(document.getElementById('errors').dataset.errors),
    totals: table('totals'), window: table('split'), focused: document.activeElement?.id ?? '',
    classified: Object.fromEntries(Object.entries(document.getElementById('classified').dataset).map(([k, v]) => [k, Number(v)])) };
})()`;

const stateOf = (page: Page) => page.evaluate(STATE) as Promise<PageState>;
const share = (state: PageState, version: string) => Number.parseFloat(state.window[version]?.share ?? 'NaN');

/** Polls `probe` until it returns a value; the page changes on its own timers, not on events we could wait on. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  explain: () => Promise<unknown> = async () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(await explain())}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The base URL the demo printed for `name` (v1, v2, gateway). */
function printed(demo: NodeProcess, name: string): Promise<string> {
  const pattern = new RegExp(`^ {2}${name} +(http://127\\.0\\.0\\.1:\\d+)`, 'm');
  return demo.waitFor(`the ${name} URL`, () => pattern.exec(demo.stdout)?.[1], 60_000);
}

/** The process listening on a loopback port, found through its socket in /proc. */
function listenerOf(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set(
    ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        // local address, state 0A (LISTEN), inode
        .filter((f) => f[1]?.endsWith(`:${hex}`) && f[3] === '0A')
        .map((f) => `socket:[${f[9]}]`),
    ),
  );
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`))
        if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return +pid;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  throw new Error(`no process listens on port ${port}`);
}

/** `route="/tickets"` requests a server counted, whatever their status. */
async function ticketsCounted(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return [...text.matchAll(/^ecadraft_http_requests_total\{([^}]*)\} (\d+)$/gm)]
    .filter((m) => m[1]!.includes('route="/tickets"'))
    .reduce((sum, m) => sum + Number(m[2]), 0);
}

// A browser, the demo's three processes and a minute of polling: about 50 s alone, and twice that on a
// busy machine, too close to the suite's 120 s per file.
t.setTimeout(300_000);

const skip = chromiumInstalled()
  ? false
  : `the /ui page's browser test needs Chromium at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)`;
if (skip && process.env.CI) t.fail(skip);
else
  t.test('the /ui page through the demo, in headless Chromium', { skip }, async (t) => {
    const demo = new NodeProcess(DEMO, {
      nodeArgs: ['--import', 'tsx'],
      args: ['--port', '0', '--step', '90-10'],
      input: true,
    });
    // Ctrl-C, as a user stops it: the demo then stops its servers (a SIGKILL would leave them running).
    let stopped: number | undefined;
    t.teardown(async () => {
      if (stopped) process.kill(stopped, 'SIGCONT');
      demo.signal('SIGINT');
      await demo.waitForExit(20_000).catch(() => demo.stop());
    });
    const gateway = await printed(demo, 'gateway');
    const servers = { v1: await printed(demo, 'v1'), v2: await printed(demo, 'v2') };
    t.match(demo.stdout, `  page     ${gateway}/ui`, 'the demo prints the page');
    const origin = new URL(gateway).origin;

    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.context.newPage();

    // Everything the browser asked for, anything it logged as an error, and the polls' outcomes.
    const requested: string[] = [];
    const problems: string[] = [];
    browser.context.on('request', (request) => requested.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    const isPoll = (request: Request) => new URL(request.url()).pathname === '/tickets';
    const net = { sent: 0, settled: 0, inFlight: 0, maxInFlight: 0, failed: 0, non2xx: 0, starts: [] as number[] };
    const answers = new Map<string, number>();
    const uncached: string[] = [];
    page.on('request', (request) => {
      if (!isPoll(request)) return;
      net.sent++;
      net.maxInFlight = Math.max(net.maxInFlight, ++net.inFlight);
    });
    page.on('requestfinished', async (request) => {
      if (!isPoll(request)) return;
      net.inFlight--;
      const response = (await request.response())!;
      const version = (await response.allHeaders())[VERSION_HEADER] ?? 'unknown';
      answers.set(version, (answers.get(version) ?? 0) + 1);
      if (response.status() < 200 || response.status() > 299) net.non2xx++;
      if (response.fromServiceWorker() || (await request.allHeaders())['if-none-match']) uncached.push(request.url());
      net.starts.push(request.timing().startTime);
      net.settled++;
    });
    page.on('requestfailed', (request) => {
      if (!isPoll(request)) return;
      net.inFlight--;
      net.failed++;
      net.starts.push(request.timing().startTime);
      net.settled++;
    });

    const loaded = (await page.goto(`${gateway}/ui?rate=${RATE}&timeout=${TIMEOUT_MS}`))!;
    const headers = await loaded.allHeaders();
    t.equal(loaded.status(), 200);
    const csp = headers['content-security-policy'] ?? '';
    t.match(csp, /default-src 'none'/, 'a Content-Security-Policy that denies by default');
    t.notMatch(csp, /unsafe-inline|unsafe-eval|\*|http/, 'no inline script or style, no eval, no other origin');
    t.match(
      await page.locator('header').textContent(),
      `served by ${headers[VERSION_HEADER]}`,
      'names the version that served it',
    );

    // 90-10: shares near 90 and 10 over the window, with the interval split prints.
    await until('a full window of answers', async () => ((await stateOf(page)).sent >= 10 * RATE ? true : undefined));
    const ninety = await stateOf(page);
    t.ok(share(ninety, 'v1') >= 75 && share(ninety, 'v1') <= 97, `v1 near 90%: ${ninety.window.v1?.share}`);
    t.ok(share(ninety, 'v2') >= 3 && share(ninety, 'v2') <= 25, `v2 near 10%: ${ninety.window.v2?.share}`);
    t.match(await page.locator('#split tbody').textContent(), /v1\d+\.\d%\[\d+\.\d%, \d+\.\d%\]/, 'with its interval');

    // Pause from the keyboard; then the page's counts are exactly what the browser received.
    for (let i = 0; i < 10 && (await stateOf(page)).focused !== 'pause'; i++) await page.keyboard.press('Tab');
    t.equal((await stateOf(page)).focused, 'pause', 'Tab reaches Pause');
    await page.keyboard.press('Enter');
    const paused = await until('the page to pause', async () => {
      const state = await stateOf(page);
      return state.state === 'paused' && net.settled === net.sent ? state : undefined;
    });
    t.equal(await page.locator('#pause').textContent(), 'Resume', 'Enter paused it; the button says Resume');
    t.equal(paused.sent, net.sent, `one request per poll: ${paused.sent} polls, ${net.sent} requests`);
    for (const version of ['v1', 'v2'])
      t.equal(Number(paused.totals[version]?.count), answers.get(version) ?? 0, `${version}: as the browser received`);
    t.equal(paused.errors, net.failed, 'errors: as the browser saw them');
    t.same(paused.classified, { header: paused.sent, casing: 0, none: 0 }, 'every answer told apart by its header');
    t.equal(net.non2xx, 0, 'every poll answered 2xx');
    t.same(uncached, [], 'no poll answered from the cache or sent validators');
    const counted = (await ticketsCounted(servers.v1)) + (await ticketsCounted(servers.v2));
    t.equal(counted, net.sent, `every poll reached a server (${counted} counted by v1 and v2)`);
    t.ok(net.maxInFlight <= 1, `never more than one in flight (${net.maxInFlight})`);
    const starts = net.starts.toSorted((a, b) => a - b);
    const fastest = Math.min(...starts.slice(RATE).map((start, i) => start - starts[i]!));
    // 10% for the clocks: the page spaces its starts by performance.now(), the browser stamps them later.
    t.ok(fastest >= 900, `at most ${RATE} requests in any second (${RATE + 1} spanned ${fastest.toFixed(0)} ms)`);

    // Space resumes; typing 50-50 into the demo moves the page.
    await page.keyboard.press('Space');
    await until('polling again', async () => ((await stateOf(page)).sent > paused.sent ? true : undefined));
    demo.child.stdin!.write('50-50\n');
    await demo.waitFor('50-50', () => (/^routes v1=50 v2=50 /m.test(demo.stdout) ? true : undefined), 10_000);
    const half = await until('the page to show 50-50', async () => {
      const state = await stateOf(page);
      return share(state, 'v2') >= 35 && share(state, 'v2') <= 65 && share(state, 'v1') >= 35 ? state : undefined;
    });
    t.pass(`the page moved to v1 ${half.window.v1?.share}, v2 ${half.window.v2?.share}`);

    // v2 stops answering (SIGSTOP): its requests time out and show as errors; v1's keep counting.
    const v2 = listenerOf(Number(new URL(servers.v2).port));
    process.kill(v2, 'SIGSTOP');
    stopped = v2;
    const failing = await until('errors on the page', async () => {
      const state = await stateOf(page);
      return state.errors >= 2 ? state : undefined;
    });
    await until(
      'answers after the errors',
      async () => {
        const state = await stateOf(page);
        return Number(state.totals.v1?.count) > Number(failing.totals.v1?.count) + 2 ? true : undefined;
      },
      60_000,
      async () => ({ failing, now: await stateOf(page), net }),
    );
    t.match(await page.locator('#errors').textContent(), /timeout \d+.*no answer within 1500 ms/, 'says what failed');
    process.kill(v2, 'SIGCONT');
    stopped = undefined;

    // Reset from the keyboard: the counts start again.
    await page.keyboard.press('Tab');
    t.equal((await stateOf(page)).focused, 'reset', 'Tab reaches Reset');
    const before = (await stateOf(page)).sent;
    await page.keyboard.press('Enter');
    const reset = await stateOf(page);
    t.ok(reset.sent < 5 && reset.sent < before, `Enter reset the counts (${before} -> ${reset.sent})`);

    // 360 px wide: nothing wider than the screen, the controls on it.
    await page.setViewportSize({ width: 360, height: 740 });
    const fits = await until('the chart to fit 360 px', async () => {
      const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      return width <= 360 ? width : undefined;
    });
    t.ok(fits <= 360, `the page is ${fits} px wide`);
    for (const id of ['pause', 'reset', 'rate', 'path']) {
      const box = (await page.locator(`#${id}`).boundingBox())!;
      t.ok(box.x >= 0 && box.x + box.width <= 360, `#${id} is on screen`);
    }

    // A URL of another origin is refused where it is typed; the page goes on polling its own.
    await page.fill('#path', 'http://192.0.2.1/tickets');
    await page.press('#path', 'Enter');
    t.equal(await page.evaluate("document.getElementById('path').validity.valid"), false, 'refused');
    t.match(await page.locator('#status').textContent(), /^Polling \/tickets /);

    // Text as well as colour: every row and the chart's legend name their version.
    t.match(await page.locator('#split tbody').textContent(), /v1[\s\S]*v2/);
    t.match(await page.locator('#chart').textContent(), /v1[\s\S]*v2/, "the chart's legend names the versions");

    // The page's own files come from the browser's cache, revalidated with their validators.
    const revalidated = new Map<string, [number, string | undefined]>();
    page.on('response', async (response) => {
      const { pathname } = new URL(response.url());
      if (pathname.startsWith('/ui/'))
        revalidated.set(pathname, [response.status(), (await response.request().allHeaders())['if-none-match']]);
    });
    await page.reload();
    await until('the assets', async () => (revalidated.size >= 2 ? true : undefined));
    for (const asset of ['/ui/app.js', '/ui/app.css']) {
      const [status, validator] = revalidated.get(asset) ?? [];
      t.equal(status, 304, `${asset}: 304 Not Modified on reload`);
      t.match(validator, /^"[0-9a-f]{40}"$/, `${asset}: revalidated with its ETag`);
    }

    // Behind a proxy that strips the version header, the casing of the names tells the versions apart, as in split.
    await page.route('**/tickets', async (route) => {
      const response = await route.fetch();
      const { [VERSION_HEADER]: _stripped, ...headers } = response.headers();
      await route.fulfill({ response, headers });
    });
    await page.locator('#reset').click();
    const stripped = await until('40 answers without the header', async () => {
      const state = await stateOf(page);
      return state.sent >= 40 && state.state === 'running' ? state : undefined;
    });
    t.ok(Number(stripped.totals.v1?.count) > 0 && Number(stripped.totals.v2?.count) > 0, 'both versions');
    t.same(stripped.classified, { header: 0, casing: stripped.sent, none: 0 }, 'every one by the casing of the names');
    t.equal(stripped.totals.unknown, undefined, 'none unknown');

    t.same(
      requested.filter((url) => new URL(url).origin !== origin),
      [],
      `no request left ${origin} (${requested.length} requests)`,
    );
    t.same(problems, [], 'no console errors or warnings: the policy held');
  });
