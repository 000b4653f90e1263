/** Errors the gateway raises on purpose; each has a stable `code` (see `gateway/common/errors.ts`). */
import { JjjError } from './common/errors.js';

export class GatewayError extends JjjError {}
