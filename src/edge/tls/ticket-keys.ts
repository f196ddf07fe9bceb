/**
 * Session-ticket keys (RFC 5077 §4, RFC 8446 §4.6.1) for the HTTPS listeners of one edge: a current key that
 * issues tickets and the previous one, kept for one rotation so that a ticket issued just before a rotation
 * still resumes (and is then renewed under the current key). A ticket older than two rotations falls back to a
 * full handshake: that bounds how long one key can decrypt recorded sessions (forward secrecy for resumptions).
 * All listeners of the edge share the keys, so a ticket from one address resumes on another.
 *
 * node's public API holds one key (`setTicketKeys`, 48 bytes): a rotation there makes every ticket issued
 * before it useless at once. Two keys need OpenSSL's ticket key callback, which node exposes on the native
 * secure context (`enableTicketKeyCallback` and `onticketkeycallback`, the hook node's own tests use, e.g.
 * test-https-resume-after-renew.js). OpenSSL calls it on the server's own context whatever certificate SNI
 * chose, so it is attached to the server's context, and again after `setSecureContext` replaces that context.
 * Where the hook is missing (another node), the listener keeps node's single key, rotated by `setTicketKeys`.
 */
import { randomBytes } from 'node:crypto';
import type tls from 'node:tls';
import { logger } from '../../log.js';

const log = logger('edge');

/** The three 16-byte parts of a ticket key (node and OpenSSL: key name, HMAC-SHA256 secret, AES-128-CBC key). */
interface TicketKey {
  readonly name: Buffer;
  readonly hmac: Buffer;
  readonly aes: Buffer;
}

/**
 * What the callback returns to node (src/crypto/crypto_context.cc TicketKeyCallback):
 * `[1, hmac, aes, name, iv]` when encrypting; when decrypting `[1, hmac, aes]` (accept), `[2, hmac, aes]`
 * (accept and issue a new ticket), `[0, hmac, aes]` (unknown key: full handshake; node reads both keys anyway).
 */
type TicketKeyAnswer = [number, Buffer, Buffer] | [number, Buffer, Buffer, Buffer, Buffer];

/** The part of node's native SecureContext the callback needs. */
interface NativeTicketContext {
  enableTicketKeyCallback?: () => void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => TicketKeyAnswer;
}

/** tls.Server keeps its secure context here (node internals; see the header). */
interface ServerWithContext {
  _sharedCreds?: { context?: NativeTicketContext };
}

const ACCEPT = 1;
const ACCEPT_AND_RENEW = 2;
const UNKNOWN = 0;

function newKey(): TicketKey {
  return { name: randomBytes(16), hmac: randomBytes(16), aes: randomBytes(16) };
}

export class TicketKeys {
  private current = newKey();
  private previous: TicketKey | undefined;
  private readonly fallbacks = new Set<tls.Server>();
  private readonly callback = (name: Buffer, _iv: Buffer, encrypt: boolean): TicketKeyAnswer => this.answer(name, encrypt);

  /**
   * Makes `server` issue and accept tickets with these keys. Call it again after `server.setSecureContext`.
   * Returns false when node offers no hook; the server then holds one key, replaced at each rotation.
   */
  attach(server: tls.Server): boolean {
    const context = (server as unknown as ServerWithContext)._sharedCreds?.context;
    if (typeof context?.enableTicketKeyCallback !== 'function') {
      if (!this.fallbacks.has(server)) log.warn('session tickets: one key at a time (no ticket key hook in this node)');
      this.fallbacks.add(server);
      server.setTicketKeys(Buffer.concat([this.current.name, this.current.hmac, this.current.aes]));
      return false;
    }
    context.enableTicketKeyCallback();
    context.onticketkeycallback = this.callback;
    return true;
  }

  /** A new current key; the current one becomes the previous, and the previous is forgotten. */
  rotate(): void {
    this.previous = this.current;
    this.current = newKey();
    for (const server of this.fallbacks) server.setTicketKeys(Buffer.concat([this.current.name, this.current.hmac, this.current.aes]));
  }

  private answer(name: Buffer, encrypt: boolean): TicketKeyAnswer {
    const cur = this.current;
    if (encrypt) return [ACCEPT, cur.hmac, cur.aes, cur.name, randomBytes(16)];
    if (name.equals(cur.name)) return [ACCEPT, cur.hmac, cur.aes];
    const prev = this.previous;
    if (prev !== undefined && name.equals(prev.name)) return [ACCEPT_AND_RENEW, prev.hmac, prev.aes];
    return [UNKNOWN, cur.hmac, cur.aes];
  }
}
