/** Reads a server-sent-events response body as it arrives: its events, its comments, and whether it ended. */
export interface ServerEvent {
  event: string;
  data: unknown;
}

export function readServerEvents(body: ReadableStream<Uint8Array>): {
  events: ServerEvent[];
  comments: string[];
  ended: () => boolean;
} {
  const events: ServerEvent[] = [];
  const comments: string[] = [];
  let ended = false;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) });
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
  })();
  return { events, comments, ended: () => ended };
}
