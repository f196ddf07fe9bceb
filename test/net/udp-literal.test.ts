/**
 * The dgram lookup for sockets that answer IP literals: a literal is passed through in the same call
 * (no dns.lookup, no tick), a name still resolves, and replies reach IPv4 and IPv6 clients.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { literalAddressLookup, literalSendOptions } from '../../src/net/udp-literal.js';

/** With a callback: for a literal, bind emits 'listening' within the call (see udp-literal.ts). */
function bound(socket: Socket, host: string): Promise<number> {
  return new Promise((resolve) => socket.bind(0, host, () => resolve(socket.address().port)));
}

describe('literalAddressLookup', () => {
  it('answers a literal synchronously, with its family', () => {
    const seen: Array<[string, number]> = [];
    literalAddressLookup('127.0.0.1', 4, (err, address, family) => {
      expect(err).toBeNull();
      seen.push([address, family]);
    });
    literalAddressLookup('::1', 6, (_err, address, family) => seen.push([address, family]));
    expect(seen).toEqual([
      ['127.0.0.1', 4],
      ['::1', 6],
    ]);
  });

  it('still resolves a name (a listen address such as localhost)', async () => {
    const resolved = await new Promise<string>((resolve, reject) => literalAddressLookup('localhost', 4, (err, address) => (err ? reject(err) : resolve(address))));
    expect(resolved).toMatch(/^127\./);
  });

  it('lets a server bound by name answer IPv4 and IPv6 clients', async () => {
    for (const [type, host, clientHost] of [
      ['udp4', 'localhost', '127.0.0.1'],
      ['udp6', '::1', '::1'],
    ] as const) {
      const server = createSocket(literalSendOptions(type));
      server.on('message', (msg, rinfo) => server.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address));
      const port = await bound(server, host);
      const client = createSocket(type);
      await bound(client, clientHost);
      const reply = once(client, 'message');
      client.send('ping', port, clientHost);
      const [msg] = (await reply) as [Buffer];
      expect(msg.toString()).toBe('re:ping');
      client.close();
      server.close();
    }
  });
});
