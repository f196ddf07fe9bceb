/**
 * How the loader reacts to a bad rule: `throw` stops at the first (a role starting must not run on half a
 * file), `collect` records it and lets the loader go on with the next independent part, so `dnscdn check`
 * lists every problem at once, as `nginx -t` and `knotc conf-check` do.
 */
import { ConfigError } from '../errors.js';

export class Problems {
  readonly found: ConfigError[] = [];

  constructor(readonly mode: 'throw' | 'collect') {}

  /** Runs one independent part of the validation; in collect mode a ConfigError is kept and `undefined` returned. */
  attempt<T>(read: () => T): T | undefined {
    if (this.mode === 'throw') return read();
    try {
      return read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.found.push(err);
      return undefined;
    }
  }

  report(err: ConfigError): void {
    if (this.mode === 'throw') throw err;
    this.found.push(err);
  }
}
