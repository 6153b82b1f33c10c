// `npm run cluster:up` and `npm run cluster:down`: the local control plane for
// people and scripts. `up` ends with the two lines a shell can eval:
// KUBECTL=<a kubectl of the pinned release> and KUBECONFIG=<its kubeconfig>.
import { CLUSTER_DIR, down, up } from './control-plane.ts';

const command = process.argv[2];
if (command === 'up') {
  const c = await up((line) => process.stderr.write(`${line}\n`));
  process.stderr.write(
    `cluster: up; state and logs in ${CLUSTER_DIR}; the kubectl plugin: PATH=${c.pluginDir}:$PATH; ` +
      `Prometheus: ${c.prometheusUrl ?? 'not installed (apt-get install prometheus)'}\n`,
  );
  process.stdout.write(`KUBECTL=${c.kubectl}\nKUBECONFIG=${c.kubeconfig}\n`);
} else if (command === 'down') {
  const stopped = await down();
  process.stderr.write(
    `cluster: down${stopped.length > 0 ? `; stopped ${stopped.join(', ')}` : ', nothing was running'}\n`,
  );
} else {
  process.stderr.write('usage: node --import=tsx test/cluster/cli.ts up|down\n');
  process.exit(2);
}
