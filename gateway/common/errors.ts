/**
 * The error base of both programs: every error the gateway or the collector raises on purpose is a
 * `JjjError` with a stable `code`, so callers branch on the code and never on the message.
 */
export class JjjError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A config that cannot run; `problems` are `path: reason` lines for the user. */
export class ConfigError extends JjjError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super('CONFIG_INVALID', `${file}: invalid configuration\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}
