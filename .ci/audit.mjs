// Fails on a high or critical advisory in production dependencies. Where the
// registry cannot answer an audit (as on these machines), says so and passes:
// an unanswered audit is not a finding.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000 });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  report = undefined;
}
const counts = report?.metadata?.vulnerabilities;
if (!counts) {
  const reason = report?.message ?? report?.error?.summary ?? (run.error?.message || 'no report');
  console.log(`npm audit: the registry could not answer an audit (${reason}); not failing on that alone`);
  process.exit(0);
}
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`npm audit --omit=dev: ${JSON.stringify(counts)}`);
process.exit(serious > 0 ? 1 : 0);
