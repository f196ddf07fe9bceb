// Forked by liveness.test.ts as a node:cluster worker: answers the primary's liveness pings, and stays up.
import { answerLivenessPings } from '../../dist/cluster/liveness.js';

answerLivenessPings();
process.send({ kind: 'test:up' });
setInterval(() => undefined, 60_000);
