/** Typed errors of the collector: every error it raises on purpose has a stable `code`. */
export class CollectorError extends Error {
  constructor(
    readonly code: 'HTTP_LISTEN_FAILED' | 'STORE_OPEN_FAILED' | 'STORE_FAILED',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CollectorError';
  }
}
