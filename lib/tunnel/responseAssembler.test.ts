import { describe, expect, it } from 'vitest';
import { ResponseAssembler, TunnelRequestError } from './responseAssembler.ts';

const head = { type: 'head', id: 'a', status: 200, contentType: 'text/plain' } as const;
const chunk = (seq: number, text: string) =>
  ({ type: 'chunk', id: 'a', seq, data: new TextEncoder().encode(text) }) as const;

async function readAll(a: ResponseAssembler): Promise<string> {
  return new Response(a.body).text();
}

describe('ResponseAssembler', () => {
  it('assembles head, chunks and end into a head and a body', async () => {
    const a = new ResponseAssembler('a');
    a.accept(head);
    a.accept(chunk(0, 'hello '));
    a.accept(chunk(1, 'world'));
    a.accept({ type: 'end', id: 'a', chunks: 2, bytes: 11 });
    expect(await a.head).toEqual(head);
    expect(await readAll(a)).toBe('hello world');
    expect(a.finished).toBe(true);
  });

  it('copies chunk data, so the received frame may be reused', async () => {
    const a = new ResponseAssembler('a');
    a.accept(head);
    const c = chunk(0, 'abc');
    a.accept(c);
    c.data.fill(0);
    a.accept({ type: 'end', id: 'a', chunks: 1, bytes: 3 });
    expect(await readAll(a)).toBe('abc');
  });

  it('rejects the head with the HTTP status of an error that came first', async () => {
    const a = new ResponseAssembler('a');
    a.accept({ type: 'error', id: 'a', code: 'timeout', message: 'too slow' });
    await expect(a.head).rejects.toMatchObject({ code: 'timeout', status: 504, message: 'too slow' });
  });

  it.each([
    [
      'an error after the head',
      [head, chunk(0, 'x'), { type: 'error', id: 'a', code: 'too_large', message: 'big' }],
      'big',
    ],
    ['a missing chunk', [head, chunk(0, 'x'), chunk(2, 'z')], 'chunk 2 arrived where 1 was due'],
    ['wrong totals', [head, chunk(0, 'x'), { type: 'end', id: 'a', chunks: 2, bytes: 2 }], 'incomplete'],
    ['two heads', [head, head], 'two heads'],
  ] as const)('errors the body on %s', async (_name, messages, fragment) => {
    const a = new ResponseAssembler('a');
    for (const m of messages) a.accept(m);
    await expect(readAll(a)).rejects.toThrow(fragment);
  });

  it('fails once and ignores what comes later', async () => {
    const a = new ResponseAssembler('a');
    a.fail(new TunnelRequestError('unavailable', 'tunnel closed'));
    a.fail(new TunnelRequestError('internal', 'second'));
    a.accept(head);
    await expect(a.head).rejects.toMatchObject({ code: 'unavailable', status: 503 });
  });
});
