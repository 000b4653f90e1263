/** Typed errors of the collector: every error it raises on purpose has a stable `code`. */
import { JjjError } from '../gateway/common/errors.js';

export class CollectorError extends JjjError {
  declare readonly code:
    | 'HTTP_LISTEN_FAILED'
    | 'STORE_OPEN_FAILED'
    | 'STORE_FAILED'
    | 'STORE_REFUSED'
    | 'BROKER_CONNECT_FAILED'
    | 'SIGNING_KEY_INVALID';
  constructor(code: CollectorError['code'], message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
