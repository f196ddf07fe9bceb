/**
 * The HTTP servers bench:edge measures: dnscdn edge, the node:http ceiling, and when installed nginx
 * (proxy_cache) and Varnish, each with a minimal reverse-proxy cache config in a temporary folder,
 * pointing at the same origin.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchObjects } from './objects.js';
import { findCommand, freePort, LOADGEN_CORE, pinned, startProcess, tcpAccepts, waitUntil, type Server } from './proc.js';

export interface HttpServerSpec {
  name: string;
  argv: string[];
}

export interface EdgeContext {
  root: string;
  host: string;
  tmp: string;
  originUrl: string;
  /** host:port of the origin. */
  origin: { host: string; port: number };
}

export function dnscdnEdgeSpec(ctx: EdgeContext, port: number): HttpServerSpec {
  return { name: 'dnscdn', argv: ['node', join(ctx.root, 'bin', 'dnscdn.js'), 'edge', '--listen', `${ctx.host}:${port}`, '--admin-listen', `${ctx.host}:0`, '--origin', ctx.originUrl, '--max-bytes', '256MB'] };
}

/** dnscdn edge writing the combined access log to a file (issue 15 item 6): its cost, beside the plain run. */
export function dnscdnAccessLogSpec(ctx: EdgeContext, port: number): HttpServerSpec {
  const plain = dnscdnEdgeSpec(ctx, port);
  return { name: 'dnscdn access log', argv: [...plain.argv, '--access-log', join(ctx.tmp, 'access.log')] };
}

/** The node:http ceiling (http-ceiling.ts); `bare`: with the 4-field head instead of a dnscdn hit's (a reference row). */
export function httpCeilingSpec(ctx: EdgeContext, port: number, bare = false): HttpServerSpec {
  const argv = ['node', join(ctx.root, 'dist-bench', 'bench', 'http-ceiling.js'), '--listen', `${ctx.host}:${port}`];
  return bare ? { name: 'node ceiling, bare head', argv: [...argv, '--bare'] } : { name: 'node ceiling', argv };
}

/** nginx with one worker and proxy_cache (on the temp folder: the page cache keeps it in memory). */
export function nginxSpec(ctx: EdgeContext, port: number): HttpServerSpec | undefined {
  return nginxProxyCache(ctx, 'nginx', { listen: `${ctx.host}:${port}` });
}

/**
 * One nginx worker in front of the bench origin with proxy_cache, in `ctx.tmp/<folder>`: the plain case above, and
 * with `ssl http2` and a certificate the HTTPS cases (edge-tls.ts). Undefined when nginx is not installed.
 */
export function nginxProxyCache(ctx: EdgeContext, folder: string, o: { listen: string; tls?: { cert: string; key: string } }): HttpServerSpec | undefined {
  const nginx = findCommand('nginx');
  if (nginx === undefined) return undefined;
  const dir = join(ctx.tmp, folder);
  mkdirSync(join(dir, 'cache'), { recursive: true });
  mkdirSync(join(dir, 'temp'), { recursive: true });
  // Started as root, nginx's worker runs as nobody: it must reach and write its cache and temp folders.
  for (const d of [ctx.tmp, dir]) chmodSync(d, 0o755);
  for (const d of ['cache', 'temp']) chmodSync(join(dir, d), 0o777);
  const tls = o.tls
    ? `    ssl_certificate ${o.tls.cert};
    ssl_certificate_key ${o.tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;
`
    : '';
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  keepalive_requests 1000000;
${o.tls ? '  http2_max_requests 1000000;\n' : ''}  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=bench:16m max_size=256m inactive=1h use_temp_path=off;
  upstream origin { server ${ctx.origin.host}:${ctx.origin.port}; keepalive 16; }
  server {
    listen ${o.listen}${o.tls ? ' ssl http2' : ''};
${tls}    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_revalidate on;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`,
  );
  return { name: 'nginx', argv: [nginx, '-p', dir, '-c', conf] };
}

/** Varnish with its builtin VCL (which honours Cache-Control) and a 256 MB malloc store. */
export function varnishSpec(ctx: EdgeContext, port: number): HttpServerSpec | undefined {
  const varnishd = findCommand('varnishd');
  if (varnishd === undefined) return undefined;
  const dir = join(ctx.tmp, 'varnish');
  mkdirSync(dir, { recursive: true });
  const vcl = join(dir, 'default.vcl');
  writeFileSync(vcl, `vcl 4.1;\nbackend origin { .host = "${ctx.origin.host}"; .port = "${ctx.origin.port}"; }\n`);
  return {
    name: 'varnish',
    argv: [varnishd, '-F', '-j', 'none', '-n', join(dir, 'work'), '-a', `${ctx.host}:${port}`, '-f', vcl, '-s', 'malloc,256m', '-p', 'thread_pools=1'],
  };
}

/**
 * The origin the edge benchmarks fill from: the project's own, on the load generator's core, serving the
 * benchmark objects; /rev/* is no-cache (revalidated on every request), /miss/* takes any query string;
 * everything else is cacheable for an hour.
 */
export async function startBenchOrigin(root: string, tmp: string, host: string): Promise<{ ctx: EdgeContext; stop: () => Promise<void> }> {
  const originPort = await freePort();
  const content = join(tmp, 'content');
  mkdirSync(join(content, 'rev'), { recursive: true });
  mkdirSync(join(content, 'miss'), { recursive: true });
  for (const o of benchObjects()) writeFileSync(join(content, o.path), o.body);
  writeFileSync(join(content, 'rev', '1k'), benchObjects()[0]!.body);
  writeFileSync(join(content, 'miss', '1k'), benchObjects()[0]!.body);
  const origin: Server = startProcess(
    'dnscdn origin',
    pinned(LOADGEN_CORE, ['node', join(root, 'bin', 'dnscdn.js'), 'origin', '--content', content, '--listen', `${host}:${originPort}`, '--admin-listen', `${host}:0`, '--data-dir', join(tmp, 'origin-data'), '--cache-control', '/rev/*=no-cache', '--cache-control', '/**=public, max-age=3600']),
    { env: { ...process.env, DNSCDN_LOG: 'warn', DNSCDN_ADMIN_TOKEN: '' } },
  );
  try {
    await waitUntil(origin, () => tcpAccepts(host, originPort));
  } catch (err) {
    await origin.stop();
    throw err;
  }
  return { ctx: { root, host, tmp, originUrl: `http://${host}:${originPort}`, origin: { host, port: originPort } }, stop: () => origin.stop() };
}
