import { describe, expect, it } from 'vitest';
import { EventBatch, FLAG_TRUNCATED, ipv6, KIND_DATA } from './events.ts';
import { checkLayout, L, RECORD_PREFIX } from './layout.ts';
import { loadNative } from './native.ts';

/** Builds one batch the way the addon does: [u32 size][u32 0][record padded to 8] per record. */
function batch(records: Uint8Array[]): EventBatch {
  const total = records.reduce((n, r) => n + RECORD_PREFIX + ((r.length + 7) & ~7), 0);
  const buf = new Uint8Array(total);
  const v = new DataView(buf.buffer);
  let off = 0;
  for (const r of records) {
    v.setUint32(off, r.length, true);
    buf.set(r, off + RECORD_PREFIX);
    off += RECORD_PREFIX + ((r.length + 7) & ~7);
  }
  return new EventBatch(buf.buffer, records.length);
}

function header(size: number, kind: number, pid: number, fd: number, flags = 0): [Uint8Array, DataView] {
  const r = new Uint8Array(size);
  const v = new DataView(r.buffer);
  v.setBigUint64(L['header.tsNs'], 123456789n, true);
  v.setUint32(L['header.pid'], pid, true);
  v.setUint32(L['header.tid'], pid + 1, true);
  v.setInt32(L['header.fd'], fd, true);
  v.setUint8(L['header.kind'], kind);
  v.setUint8(L['header.flags'], flags);
  return [r, v];
}

function tuple(
  r: Uint8Array,
  v: DataView,
  at: number,
  t: { fam: number; l: number[]; r: number[]; lp: number; rp: number; proto: number; role: number },
) {
  r.set(t.l, at + L['tuple.laddr']);
  r.set(t.r, at + L['tuple.raddr']);
  v.setUint16(at + L['tuple.lport'], t.lp, true);
  v.setUint16(at + L['tuple.rport'], t.rp, true);
  v.setUint16(at + L['tuple.family'], t.fam, true);
  v.setUint8(at + L['tuple.protocol'], t.proto);
  v.setUint8(at + L['tuple.role'], t.role);
}

const mapped = (a: number[]) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...a];

describe('event decoding', () => {
  it('matches the layout the addon was compiled with', () => {
    expect(() => checkLayout(loadNative().layout)).not.toThrow();
    expect(() => checkLayout({ ...loadNative().layout, 'data.len': 60 })).toThrow(
      /data\.len: decoder 64, addon 60/,
    );
  });

  it('decodes a data event lazily, with IPv4-mapped addresses shown as IPv4', () => {
    const payload = new TextEncoder().encode('GET / HTTP/1.1\r\n');
    const [r, v] = header(L.dataSize + payload.length, 1, 42, 7, 4 | 8);
    tuple(r, v, L['data.tuple'], {
      fam: 10,
      l: mapped([127, 0, 0, 1]),
      r: mapped([10, 1, 2, 3]),
      lp: 8080,
      rp: 51000,
      proto: 6,
      role: 2,
    });
    v.setUint32(L['data.len'], 9000, true);
    v.setUint32(L['data.capLen'], payload.length, true);
    v.setUint8(L['data.direction'], 2);
    v.setUint8(L['data.syscall'], 5);
    r.set(payload, L.dataSize);
    const [ev] = [...batch([r])];
    expect(ev).toMatchObject({
      kind: 'data',
      pid: 42,
      tid: 43,
      fd: 7,
      tsNs: 123456789n,
      direction: 'ingress',
      role: 'server',
      length: 9000,
      truncated: true,
      messageStart: true,
      tls: false,
      unattributed: false,
      syscall: 'recvfrom',
      tuple: {
        family: 4,
        transport: 'tcp',
        local: { ip: '127.0.0.1', port: 8080 },
        remote: { ip: '10.1.2.3', port: 51000 },
      },
    });
    expect(new TextDecoder().decode(ev?.kind === 'data' ? ev.data : undefined)).toBe('GET / HTTP/1.1\r\n');
  });

  it('decodes connection and process events, IPv6 and UDP', () => {
    const [c, cv] = header(L.connSize, 2, 5, 3);
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    tuple(c, cv, L['conn.tuple'], {
      fam: 10,
      l: v6,
      r: [...Array(15).fill(0), 1],
      lp: 40000,
      rp: 53,
      proto: 17,
      role: 1,
    });
    cv.setBigInt64(L['conn.ret'], -115n, true);
    const [p, pv] = header(L.procSize, 7, 9, -1);
    pv.setUint32(L['proc.ppid'], 9, true);
    pv.setUint32(L['proc.childPid'], 10, true);
    p.set(new TextEncoder().encode('postgres'), L['proc.comm']);
    const events = [...batch([c, p])];
    expect(events[0]).toMatchObject({
      kind: 'connect',
      fd: 3,
      role: 'client',
      result: -115,
      tuple: {
        family: 6,
        transport: 'udp',
        local: { ip: '2001:db8::1', port: 40000 },
        remote: { ip: '::1', port: 53 },
      },
    });
    expect(events[1]).toMatchObject({ kind: 'fork', comm: 'postgres', parentPid: 9, childPid: 10 });
    const [e] = header(L.procSize, 5, 11, -1);
    const [x] = header(L.procSize, 6, 12, -1);
    const changes: [string, number][] = [];
    batch([c, e, p, x]).forEachProcessChange((kind, pid) => changes.push([kind, pid]));
    expect(changes).toEqual([
      ['exec', 11],
      ['exit', 12],
    ]);
  });

  it('skips records that are too short or of an unknown kind instead of misreading them', () => {
    const [short] = header(L.dataSize - 1, 1, 1, 1);
    const [unknown] = header(L.connSize, 99, 1, 1);
    const [ok] = header(L.procSize, 6, 77, -1);
    expect([...batch([short, unknown, ok])].map((e) => e.kind)).toEqual(['exit']);
  });

  it('walks the same records with the allocation-free cursor, and skips one that overruns the batch', () => {
    const payload = new TextEncoder().encode('HTTP/1.1 200 OK\r\n');
    const [d, dv] = header(L.dataSize + payload.length, 1, 42, 7, FLAG_TRUNCATED);
    dv.setUint32(L['data.len'], 5000, true);
    dv.setUint32(L['data.capLen'], payload.length, true);
    dv.setUint8(L['data.direction'], 1);
    d.set(payload, L.dataSize);
    const [x] = header(L.procSize, 6, 77, -1);
    const [short] = header(L.dataSize - 1, 1, 1, 1);
    const b = batch([short, d, x]);
    const c = b.cursor();
    const seen: string[] = [];
    while (c.next()) {
      if (c.kind === KIND_DATA)
        seen.push(
          `data ${c.pid} ${c.fd} ${c.tsNs} ${c.length} ${c.egress} ${c.flags} ${new TextDecoder().decode(c.data())}`,
        );
      else seen.push(`${c.event().kind} ${c.pid}`);
    }
    expect(seen).toEqual([`data 42 7 123456789 5000 true ${FLAG_TRUNCATED} HTTP/1.1 200 OK\r\n`, 'exit 77']);
    expect(c.next()).toBe(false);
    expect([...b].map((e) => `${e.kind} ${e.pid}`)).toEqual(['data 42', 'exit 77']);
    // A record whose size runs past the end of the batch (a damaged batch) is not read.
    const bytes = new Uint8Array(b.buffer.slice(0));
    new DataView(bytes.buffer).setUint32(RECORD_PREFIX + ((short.length + 7) & ~7), 1 << 20, true);
    expect([...new EventBatch(bytes.buffer, 3)].map((e) => e.kind)).toEqual([]);
  });

  it.each([
    ['::', [...Array(16).fill(0)]],
    ['::1', [...Array(15).fill(0), 1]],
    ['2001:db8::1:0:0:1', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]],
    ['fe80::1:2', [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]],
    ['1:2:3:4:5:6:7:8', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
  ])('formats IPv6 %s', (text, bytes) => {
    expect(ipv6(new Uint8Array(bytes))).toBe(text);
  });
});
