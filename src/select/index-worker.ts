// The sorts of Indexes.build on another core: keys in, orders and ranks out,
// their memory handed back rather than copied.
import { parentPort, workerData } from 'node:worker_threads';
import { orderedByKey } from './orders.ts';

const orders = (workerData as Uint32Array[]).map(orderedByKey);
parentPort!.postMessage(
  orders,
  orders.flatMap(({ order, ranks }) => [order.buffer, ranks.buffer]),
);
