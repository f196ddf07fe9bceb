// Forked by query-stats.test.ts as a node:cluster worker: logs one (dropped) query and sends the line to the primary.
import { QueryLog } from '../../dist/dns/query-log.js';
import { encodeMessage } from '../../dist/dns/wire.js';

const bytes = encodeMessage({ id: 1, opcode: 'QUERY', rcode: 0, flags: { qr: false, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false }, questions: [{ name: 'www.cdn.test', type: 'A', class: 'IN' }], answers: [], authorities: [], additionals: [] });
const ctx = { bytes, client: { address: '127.0.0.1', port: 5300, transport: 'udp' }, query: undefined, steered: undefined };
new QueryLog(1, (line) => process.send(line, () => process.exit(0))).record(ctx, 'drop', undefined, 0.00001);
