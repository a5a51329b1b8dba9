import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * POSTs export bodies to one URL over node:http(s) with a keep-alive agent. The exporters used fetch
 * before: its web-streams and per-request machinery (and a reconnect whenever the peer's keep-alive timed
 * out between exports) cost the sensor more CPU than encoding the bodies (profile of `understory sensor`
 * under load: ~3 % of a core on a 2-core VM for one remote-write and one OTLP export every few seconds).
 *
 * Called from the event loop; at most `maxSockets` requests in flight (the batch senders send one at a time).
 */
export interface PostResult {
  status: number;
  /** The first 300 characters of an unsuccessful answer's body (empty for a 2xx). */
  text: string;
}

export class HttpPoster {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL(url);
    const https = this.url.protocol === 'https:';
    if (!https && this.url.protocol !== 'http:')
      throw new Error(`cannot configure export to ${url}: only http and https URLs are supported`);
    const opts = { keepAlive: true, maxSockets: 2, keepAliveMsecs: 10_000 };
    this.agent = https ? new HttpsAgent(opts) : new HttpAgent(opts);
    this.request = https ? httpsRequest : httpRequest;
  }

  /** Resolves with the status (any); rejects on network errors and after `timeoutMs`. */
  post(body: Uint8Array, headers: Record<string, string>): Promise<PostResult> {
    return new Promise((resolve, reject) => {
      const req = this.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { ...headers, 'content-length': String(body.length) },
          timeout: this.timeoutMs,
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            res.resume();
            res.on('end', () => resolve({ status, text: '' }));
          } else {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (s: string) => {
              if (text.length < 300) text += s;
            });
            res.on('end', () => resolve({ status, text: text.slice(0, 300) }));
          }
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes idle keep-alive sockets (shutdown). */
  close(): void {
    this.agent.destroy();
  }
}
