/**
 * The gateway's one connection state machine. Data flows only once the broker connection is up, the
 * birth is out and (in Sparkplug B mode with a primary host) that host is online:
 *
 *   offline ──link up──► waiting-for-host ──host online──► announced
 *                       (no primary host to wait for: link up goes straight to announced)
 *   announced ──host offline──► offline: the session ends (death sent, disconnect) and the link
 *                               connects again, to wait for the host (Sparkplug 3.0 asks this)
 *   any state ──link down──► offline
 */
import type { Logger } from './logger.js';

export type ConnectionState = 'offline' | 'waiting-for-host' | 'announced';

export interface ConnectionActions {
  /** Whether the primary host (if one is configured) is online; always true without one. */
  hostOnline(): boolean;
  /** Publishes the birth; called before any data may flow, and again on a rebirth request. */
  birth(): void;
  /** Data may go on the wire (true), or must wait in the outbox and replay later as history (false). */
  dataFlow(flowing: boolean): void;
  /** Sends the death, disconnects and connects again (the link reports down, then up). */
  endSession(): void;
}

export class ConnectionStateMachine {
  private current: ConnectionState = 'offline';

  constructor(
    private readonly actions: ConnectionActions,
    private readonly logger: Logger,
  ) {}

  get state(): ConnectionState {
    return this.current;
  }

  /** Connected and subscribed. */
  linkUp(): void {
    this.enter(this.actions.hostOnline() ? 'announced' : 'waiting-for-host');
  }

  linkDown(): void {
    this.enter('offline');
  }

  /** The primary host's STATE arrived; `hostOnline()` says what it is now. */
  hostChanged(): void {
    if (this.current === 'offline') return;
    const online = this.actions.hostOnline();
    if (online && this.current === 'waiting-for-host') {
      this.logger.info('primary host online: publishing births and data');
      this.enter('announced');
    } else if (!online && this.current === 'announced') {
      this.logger.warn(
        'primary host offline: ending the session (death) to wait for it on a new one; data waits in the outbox',
      );
      this.enter('offline');
      this.actions.endSession();
    }
  }

  /** A host asked for the birth again; it goes out only while announced. */
  rebirth(): void {
    if (this.current === 'announced') this.actions.birth();
  }

  private enter(next: ConnectionState): void {
    const previous = this.current;
    this.current = next;
    if (next === 'announced') {
      // Birth first, then data: live batches flow and the backlog replays.
      this.actions.birth();
      this.actions.dataFlow(true);
    } else if (previous === 'announced') {
      this.actions.dataFlow(false);
    }
  }
}
