import type { ApiCall, ProtocolName, ProtocolSpec } from '../protocols/contract.ts';
import {
  type ConnectionInfo,
  ConnectionTracker,
  type TrackerStats,
} from '../protocols/tracker/connectionTracker.ts';
import { type Packet, readCapture } from './captureFile.ts';
import { PacketDecoder, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TransportSegment } from './packetDecoder.ts';
import { TcpReassembler } from './tcpReassembler.ts';

/**
 * The capture-file source: packets -> flows -> reassembled streams -> the same ConnectionTracker the eBPF
 * source feeds. A flow's "local" side (egress) is the endpoint that sent the SYN, or else the first packet.
 * Single-threaded: everything runs on the caller's thread, synchronously.
 */
export interface PcapSourceStats {
  packets: number;
  packetsUndecoded: Record<string, number>;
  flows: number;
  tcpGaps: number;
  retransmittedBytes: number;
}

interface Flow {
  key: string;
  info: ConnectionInfo;
  /** Index 0: from `local` to `remote` (egress); 1: the other way. */
  streams: [TcpReassembler | undefined, TcpReassembler | undefined];
  fin: [boolean, boolean];
  lastNs: bigint;
}

const MAX_FLOWS = 65_536;
const EXPIRE_EVERY_NS = 1_000_000_000n;

export class PcapSource {
  readonly tracker: ConnectionTracker;
  readonly stats: PcapSourceStats = {
    packets: 0,
    packetsUndecoded: {},
    flows: 0,
    tcpGaps: 0,
    retransmittedBytes: 0,
  };
  private readonly decoder = new PacketDecoder();
  private readonly flows = new Map<string, Flow>();
  private generation = 0;
  private lastExpireNs = 0n;

  constructor(options: {
    specs: readonly ProtocolSpec[];
    onCall: (c: ApiCall) => void;
    decodeAs?: ReadonlyMap<number, ProtocolName>;
  }) {
    this.tracker = new ConnectionTracker({
      specs: options.specs,
      onCall: options.onCall,
      decodeAs: options.decodeAs,
      // Captures replay hours in seconds: expire on capture time, generously.
      idleTimeoutNs: 600_000_000_000n,
    });
  }

  packet(p: Packet): void {
    this.stats.packets++;
    const seg = this.decoder.decode(p.linkType, p.data, p.tsNs);
    if (typeof seg === 'string') {
      this.stats.packetsUndecoded[seg] = (this.stats.packetsUndecoded[seg] ?? 0) + 1;
      return;
    }
    if (p.tsNs - this.lastExpireNs > EXPIRE_EVERY_NS) {
      this.tracker.expire(p.tsNs);
      this.lastExpireNs = p.tsNs;
    }
    const { flow, forward, created } = this.flowFor(seg, p.tsNs);
    flow.lastNs = p.tsNs;
    if (seg.proto === 'udp') {
      this.tracker.onData(flow.key, flow.info, forward ? 'egress' : 'ingress', seg.payload, p.tsNs);
      return;
    }
    if (created && (seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) flow.info.role = 'client';
    const dirIndex = forward ? 0 : 1;
    const stream = this.stream(flow, dirIndex);
    if ((seg.flags & TCP_SYN) !== 0) stream.syn(seg.seq);
    else stream.segment(seg.seq, seg.payload, p.tsNs);
    if ((seg.flags & TCP_ACK) !== 0) flow.streams[dirIndex === 0 ? 1 : 0]?.peerAck(seg.ack);
    if ((seg.flags & TCP_FIN) !== 0) flow.fin[dirIndex] = true;
    if ((seg.flags & TCP_RST) !== 0 || (flow.fin[0] && flow.fin[1])) this.close(flow);
  }

  /** End of capture: deliver held segments, stitch what is pending, close every flow. */
  finish(): TrackerStats {
    for (const flow of [...this.flows.values()]) this.close(flow);
    this.tracker.flush();
    return this.tracker.stats;
  }

  private flowFor(seg: TransportSegment, tsNs: bigint): { flow: Flow; forward: boolean; created: boolean } {
    const fwd = `${seg.proto} ${seg.srcIp}:${seg.srcPort}>${seg.dstIp}:${seg.dstPort}`;
    let flow = this.flows.get(fwd);
    if (flow !== undefined) return { flow, forward: true, created: false };
    const rev = `${seg.proto} ${seg.dstIp}:${seg.dstPort}>${seg.srcIp}:${seg.srcPort}`;
    flow = this.flows.get(rev);
    if (flow !== undefined) return { flow, forward: false, created: false };
    // A SYN-ACK seen first: the receiver is the client, so it is the flow's local side.
    const synAck = seg.proto === 'tcp' && (seg.flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
    const key = synAck ? rev : fwd;
    if (this.flows.size >= MAX_FLOWS) this.close(this.flows.values().next().value as Flow);
    const src = { ip: seg.srcIp, port: seg.srcPort };
    const dst = { ip: seg.dstIp, port: seg.dstPort };
    flow = {
      key: `${key}#${++this.generation}`,
      info: {
        local: synAck ? dst : src,
        remote: synAck ? src : dst,
        transport: seg.proto,
        role: synAck ? 'client' : 'unknown',
      },
      streams: [undefined, undefined],
      fin: [false, false],
      lastNs: tsNs,
    };
    this.flows.set(key, flow);
    this.stats.flows++;
    return { flow, forward: !synAck, created: true };
  }

  private stream(flow: Flow, dir: 0 | 1): TcpReassembler {
    let s = flow.streams[dir];
    if (s === undefined) {
      const direction = dir === 0 ? 'egress' : 'ingress';
      s = new TcpReassembler({
        data: (bytes, ts) => this.tracker.onData(flow.key, flow.info, direction, bytes, ts),
        gap: () => this.tracker.onGap(flow.key, direction),
      });
      flow.streams[dir] = s;
    }
    return s;
  }

  private close(flow: Flow): void {
    for (const s of flow.streams) {
      if (s === undefined) continue;
      s.flush();
      this.stats.tcpGaps += s.gaps;
      this.stats.retransmittedBytes += s.retransmittedBytes;
    }
    this.tracker.onClose(flow.key);
    const mapKey = flow.key.slice(0, flow.key.lastIndexOf('#'));
    this.flows.delete(mapKey);
  }
}

export interface ReplayResult {
  calls: ApiCall[];
  tracker: TrackerStats;
  source: PcapSourceStats;
}

/** Replays a whole capture image (pcap/pcapng, gzip'd or not) into API calls. */
export function replayCapture(
  bytes: Uint8Array,
  specs: readonly ProtocolSpec[],
  decodeAs?: ReadonlyMap<number, ProtocolName>,
): ReplayResult {
  const calls: ApiCall[] = [];
  const source = new PcapSource({ specs, onCall: (c) => calls.push(c), decodeAs });
  for (const p of readCapture(bytes)) source.packet(p);
  const tracker = source.finish();
  return { calls, tracker, source: source.stats };
}
