/** One TCP connection to a text-line device: requests go out one line each and are answered in order. */
import { connect, type Socket } from 'node:net';

export class TextLineConnection {
  private readonly waiting: { resolve(line: string): void; reject(error: Error): void }[] = [];
  private buffered = '';
  private closedBecause: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
    onClose: (reason: string) => void,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      for (let end = this.buffered.indexOf('\n'); end >= 0; end = this.buffered.indexOf('\n')) {
        this.waiting.shift()?.resolve(this.buffered.slice(0, end));
        this.buffered = this.buffered.slice(end + 1);
      }
    });
    socket.on('error', (error) => {
      this.closedBecause ??= error;
    });
    socket.on('close', () => {
      const reason = this.closedBecause ?? new Error('connection closed by the device');
      this.closedBecause = reason;
      for (const request of this.waiting.splice(0)) request.reject(reason);
      onClose(reason.message);
    });
  }

  /** Connects; rejects with the socket's error when the device cannot be reached. */
  static open(host: string, port: number, timeoutMs: number, onClose: (reason: string) => void) {
    return new Promise<TextLineConnection>((resolve, reject) => {
      const socket = connect({ host, port, timeout: timeoutMs });
      const fail = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.once('error', fail);
      socket.once('timeout', () => fail(new Error(`no connection within ${timeoutMs} ms`)));
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.removeAllListeners('timeout');
        socket.setTimeout(0);
        resolve(new TextLineConnection(socket, timeoutMs, onClose));
      });
    });
  }

  get isOpen(): boolean {
    return this.closedBecause === undefined;
  }

  /** Sends one request line; resolves with the answer line. A silent device drops the connection. */
  request(line: string): Promise<string> {
    if (this.closedBecause) return Promise.reject(this.closedBecause);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.closedBecause ??= new Error(`no answer within ${this.timeoutMs} ms`);
        this.socket.destroy();
      }, this.timeoutMs);
      this.waiting.push({
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.write(`${line}\n`);
    });
  }

  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}
