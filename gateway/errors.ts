/** Typed errors: every error the gateway raises on purpose has a stable `code`. */
export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GatewayError';
  }
}

/** A config that cannot run; `problems` are `path: reason` lines for the user. */
export class ConfigError extends GatewayError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super('CONFIG_INVALID', `${file}: invalid configuration\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
