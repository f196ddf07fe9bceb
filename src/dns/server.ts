/**
 * The DNS server: UDP and TCP listeners on the same port for each listen address (IPv4 and IPv6),
 * wired to one QueryPipeline. The server only moves bytes; every decision is in the pipeline.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { ReusePortSocketOptions } from './workers/socket-mode.js';
import { createServer, isIPv6, type Server as TcpServer, type Socket } from 'node:net';
import { logger } from '../log.js';
import type { HostPort } from '../net/address.js';
import { formatHostPort } from '../net/address.js';
import { literalSendOptions } from '../net/udp-literal.js';
import type { Registry } from 'prom-client';
import { createRegistry } from '../metrics.js';
import type { DynamicAnswers } from './authority.js';
import { registerDnsMetrics } from './metrics.js';
import type { RrlSettings } from './rrl.js';
import { notifySecondary } from './notify.js';
import type { TsigKey } from './tsig.js';
import { listenMetrics, type ExtraRoutes, type MetricsListener } from './metrics-listener.js';
import type { ServerTls } from '../http/link-tls.js';
import { QueryPipeline, type PipelineStats, type RecursionHandler } from './pipeline.js';
import { DEFAULT_TCP_LIMITS, newTcpCloseCounts, serveTcpConnection, type TcpCloseCounts, type TcpLimits } from './tcp.js';
import { DEFAULT_TCP_ADMISSION, TcpAdmission, type TcpAdmissionLimits, type TcpRefusalReason } from './tcp-admission.js';
import { ZoneCatalog, type ReloadReport } from './zone/catalog.js';
import type { ZoneSet } from './zone/store.js';

const log = logger('dns.server');

export interface DnsServerOptions {
  listen: HostPort[];
  /** Folder of `<apex>.zone` files. */
  zonesDir: string;
  /** Reload zones when files in the folder change (default true). SIGHUP handling is the command's job. */
  watchZones?: boolean;
  dynamicAnswers?: DynamicAnswers;
  recursion?: RecursionHandler;
  allowRecursion?: readonly string[];
  udpPayloadSize?: number;
  /** Cap on open TCP connections per listen address; new ones beyond it are closed at once. */
  maxTcpConnections?: number;
  /** Cap on open TCP connections per client network, over all listen addresses (see tcp-admission.ts). */
  tcpAdmission?: Partial<TcpAdmissionLimits>;
  tcp?: Partial<TcpLimits>;
  /** Registry for the DNS metrics (e.g. shared with steering and the resolver); default: a new one. */
  registry?: Registry;
  /** Serve GET /metrics and GET /healthz over HTTP here (port 0: a free port chosen by the kernel). */
  metricsListen?: HostPort;
  /** Serve them over HTTPS with this certificate (the deployment's `tls.admin`). */
  metricsTls?: ServerTls;
  /** Extra fields for the /healthz body (e.g. edge health as steering sees it). */
  healthDetails?: () => Record<string, unknown>;
  /** More routes on the admin listener, asked per request (the dashboard, once the role has built it). */
  adminRoutes?: () => ExtraRoutes | undefined;
  /** CIDRs allowed to transfer our zones (AXFR/IXFR over TCP); default nobody (REFUSED). */
  allowTransfer?: readonly string[];
  /** Secondaries sent a NOTIFY (RFC 1996) when a zone's serial changes, e.g. on reload. */
  notify?: readonly HostPort[];
  /**
   * TSIG keys (RFC 8945): when set, a transfer must be signed with one of them, and the NOTIFY we send
   * is signed with the first.
   */
  tsigKeys?: readonly TsigKey[];
  /** Response-rate limiting of UDP replies (rrl.ts); absent = off. */
  rrl?: RrlSettings;
  /** Fraction of queries written to the query log (query-log.ts), 0..1; absent = off. */
  queryLogSample?: number;
  /**
   * Bind UDP with SO_REUSEPORT, outside node:cluster's shared handle (a worker in 'reuseport' socket
   * mode: workers/socket-mode.ts). Needs a fixed port: with port 0 each socket would get its own.
   */
  reusePort?: boolean;
}

export interface DnsServer {
  /** The addresses actually bound (port 0 resolved). */
  readonly addresses: HostPort[];
  readonly zones: ZoneCatalog;
  readonly stats: PipelineStats;
  readonly registry: Registry;
  /** The bound metrics address, when `metricsListen` was given. */
  readonly metricsAddress?: HostPort;
  /** Re-reads the zones folder; resolves once the new zones serve (the old ones answer meanwhile). */
  reload(): Promise<ReloadReport>;
  close(): Promise<void>;
}

interface Listener {
  udp: UdpSocket;
  tcp: TcpServer;
  /** Open connections, destroyed on close (bounded by maxConnections). */
  connections: Set<Socket>;
}

/** What every TCP listener of one server shares: limits, the per-network slots, and the counters. */
interface TcpContext {
  limits: TcpLimits;
  maxConnectionsPerListener: number;
  admission: TcpAdmission;
  refused: Record<TcpRefusalReason, number>;
  closed: TcpCloseCounts;
}

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const zones = new ZoneCatalog(options.zonesDir);
  const pipeline = new QueryPipeline({
    zones: () => zones.zoneSet,
    ...(options.dynamicAnswers && { dynamicAnswers: options.dynamicAnswers }),
    ...(options.recursion && { recursion: options.recursion }),
    ...(options.allowRecursion && { allowRecursion: options.allowRecursion }),
    ...(options.udpPayloadSize !== undefined && { udpPayloadSize: options.udpPayloadSize }),
    ...(options.allowTransfer && { allowTransfer: options.allowTransfer }),
    ...(options.tsigKeys && { tsigKeys: options.tsigKeys }),
    ...(options.rrl && { rrl: options.rrl }),
    ...(options.queryLogSample !== undefined && { queryLogSample: options.queryLogSample }),
  });
  zones.onChange(() => pipeline.zonesChanged());
  if (options.notify?.length) zones.onChange(notifyOnSerialChange(options.notify, options.tsigKeys?.[0]));
  await zones.reload();
  if (options.watchZones ?? true) zones.watch();

  const tcp: TcpContext = {
    limits: { ...DEFAULT_TCP_LIMITS, ...options.tcp },
    maxConnectionsPerListener: options.maxTcpConnections ?? 256,
    admission: new TcpAdmission({ ...DEFAULT_TCP_ADMISSION, ...options.tcpAdmission }),
    refused: { listener_cap: 0, network_cap: 0 },
    closed: newTcpCloseCounts(),
  };
  const listeners: Listener[] = [];
  const addresses: HostPort[] = [];
  const registry = options.registry ?? createRegistry({ labels: { role: 'dns' } });
  registerDnsMetrics(registry, {
    stats: pipeline.stats,
    zones,
    tcpOpen: () => listeners.reduce((n, l) => n + l.connections.size, 0),
    tcpRefused: () => tcp.refused,
    tcpClosed: () => tcp.closed,
    tcpClientNetworks: () => tcp.admission.networks,
    fastPathEntries: () => pipeline.fastPathEntries,
    rrl: () => pipeline.rrlCounters,
  });
  let metrics: MetricsListener | undefined;
  try {
    for (const address of options.listen) {
      const l = await listen(address, pipeline, tcp, options.reusePort ?? false);
      listeners.push(l.listener);
      addresses.push(l.bound);
      log.debug('listening', { address: formatHostPort(l.bound), transports: 'udp+tcp' });
    }
    if (options.metricsListen) metrics = await listenMetrics(options.metricsListen, registry, () => ({
        zones: zones.zoneSet.size,
        ...options.healthDetails?.(),
      }), options.adminRoutes, options.metricsTls);
  } catch (err) {
    await Promise.all(listeners.map(closeListener));
    zones.close();
    throw err;
  }
  return {
    addresses,
    zones,
    stats: pipeline.stats,
    registry,
    ...(metrics && { metricsAddress: metrics.address }),
    reload: () => zones.reload(),
    close: async () => {
      zones.close();
      await Promise.all([...listeners.map(closeListener), metrics?.close()]);
    },
  };
}

/** Binds UDP first (port 0 picks a free port), then TCP on the same port; retries if TCP's port is taken. */
async function listen(address: HostPort, pipeline: QueryPipeline, context: TcpContext, reusePort: boolean): Promise<{ listener: Listener; bound: HostPort }> {
  for (let attempt = 0; ; attempt++) {
    const udp = await bindUdp(address, pipeline, reusePort);
    const port = udp.address().port;
    try {
      const connections = new Set<Socket>();
      const tcp = await bindTcp({ host: address.host, port }, pipeline, context, connections);
      return { listener: { udp, tcp, connections }, bound: { host: address.host, port } };
    } catch (err) {
      udp.close();
      if (address.port !== 0 || attempt >= 5) throw err;
    }
  }
}

function bindUdp(address: HostPort, pipeline: QueryPipeline, reusePort: boolean): Promise<UdpSocket> {
  const socketOptions: ReusePortSocketOptions = { ...literalSendOptions(isIPv6(address.host) ? 'udp6' : 'udp4'), ipv6Only: isIPv6(address.host), ...(reusePort && { reusePort }) };
  const socket = createSocket(socketOptions);
  socket.on('message', (msg, rinfo) => {
    const result = pipeline.handle(msg, { address: rinfo.address, port: rinfo.port, transport: 'udp' });
    if (result instanceof Promise) {
      result.then((reply) => reply && socket.send(reply, rinfo.port, rinfo.address), () => undefined);
    } else if (result) socket.send(result, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    // exclusive with reusePort: this worker's own socket, not the cluster primary's shared handle.
    socket.bind({ port: address.port, address: address.host, exclusive: reusePort }, () => {
      socket.off('error', reject);
      // After bind, errors (e.g. ICMP unreachable surfacing on send) must not crash the process.
      socket.on('error', (err) => log.warn('udp socket error', { error: err.message }));
      resolve(socket);
    });
  });
}

/**
 * Accepts up to `maxConnectionsPerListener` connections (Node closes the rest before we see them), then
 * the client network's cap. A refused connection is reset rather than closed: no TIME_WAIT left on our
 * side by a client that reconnects in a loop. `allowHalfOpen`: replies still go out after the client's FIN.
 */
function bindTcp(address: HostPort, pipeline: QueryPipeline, context: TcpContext, connections: Set<Socket>): Promise<TcpServer> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (socket.remoteAddress === undefined) {
      socket.destroy(); // reset by the peer before we saw it: nothing to count
      return;
    }
    const release = context.admission.admit(socket.remoteAddress);
    if (!release) {
      context.refused.network_cap++;
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      return;
    }
    connections.add(socket);
    socket.once('close', () => {
      connections.delete(socket);
      release();
    });
    const client = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, transport: 'tcp' as const };
    serveTcpConnection(socket, context.limits, (frame) => pipeline.handleTcp(frame, client), context.closed);
  });
  server.maxConnections = context.maxConnectionsPerListener;
  server.on('drop', () => context.refused.listener_cap++);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: address.port, host: address.host, ipv6Only: isIPv6(address.host) }, () => {
      server.off('error', reject);
      server.on('error', (err) => log.warn('tcp server error', { error: err.message }));
      resolve(server);
    });
  });
}

async function closeListener(l: Listener): Promise<void> {
  l.udp.close();
  await new Promise<void>((resolve) => {
    l.tcp.close(() => resolve());
    // Open client connections would keep close() waiting for their idle timeout.
    for (const socket of l.connections) socket.destroy();
  });
}

/** A zones listener that sends NOTIFY to every secondary for each zone whose SOA serial changed (or appeared). */
function notifyOnSerialChange(secondaries: readonly HostPort[], tsig: TsigKey | undefined): (zones: ZoneSet) => void {
  const notified = new Map<string, number>();
  return (zones) => {
    for (const zone of zones.all()) {
      const soa = zone.soa.records[0]!;
      const serial = soa.type === 'SOA' ? (soa.data.serial ?? 0) : 0;
      if (notified.get(zone.apex) === serial) continue;
      notified.set(zone.apex, serial);
      for (const target of secondaries) void notifySecondary(target, zone.apex === '' ? '.' : zone.apex, soa, tsig ? { tsig } : {});
    }
  };
}
