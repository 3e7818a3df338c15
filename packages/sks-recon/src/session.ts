// One recon session over a connected Channel (SPEC §3–4; SKS reconCS.ml, client.ml, server.ml).
// Both sides first exchange Config and a "passed"/"failed" verdict. Then, as in SKS, the side that ACCEPTED the
// connection walks its prefix tree and asks (`walk`), and the side that INITIATED answers (`answer`). Each side
// ends with the set of digests it lacks, which it then fetches over HTTP (fetch.ts).
import { PTREE_SPLIT_THRESHOLD, zzp, type ReconView } from '@sks/keystore';
import { Channel, SessionError } from './channel.js';
import { describe, intString, parseIntString, type ReconMessage } from './messages.js';
import { ratio, reconcile } from './decode.js';

/** SKS's protocol parameters; a peer announcing others is refused. */
export const BITQUANTUM = 2;
export const MBAR = 5;
/** Nodes with fewer elements than mbar × recon_thresh_mult (5 × 30) are exchanged as full element lists. */
export const FULL_THRESHOLD = MBAR * 30;
export const VERSION = '1.1.6';
/** SKS refuses peers older than this. */
const MIN_VERSION = [0, 1, 5];
/** Requests the walker keeps in flight before it waits for answers (SKS max_outstanding_recon_requests). */
const MAX_OUTSTANDING = 100;

export interface SessionConfig {
  /** Our HKP port as announced to the peer. */
  httpPort: number;
  filters: string;
  /** Stop collecting missing digests beyond this many (max_recover); the rest come in later rounds. */
  maxRecover: number;
  configTimeoutMs: number;
  readTimeoutMs: number;
}

export interface SessionResult {
  /** Digests the peer has and we lack (16 bytes each). */
  missing: Buffer[];
  /** The HKP port the peer announced. */
  peerHttpPort: number;
  peerVersion: string;
  bytesIn: number;
  bytesOut: number;
  messages: number;
  /** Messages by type each way. */
  sent: Record<string, number>;
  received: Record<string, number>;
}

export function configPairs(c: SessionConfig): Array<[string, string]> {
  // Sorted by key, as SKS sends them (it marshals an ordered map).
  return [
    ['bitquantum', intString(BITQUANTUM)],
    ['filters', c.filters],
    ['http port', intString(c.httpPort)],
    ['mbar', intString(MBAR)],
    ['version', VERSION],
  ];
}

function versionTuple(v: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function filterSet(s: string): string {
  return [...new Set(s.split(',').map((f) => f.trim()).filter(Boolean))].sort().join(',');
}

/** Why we refuse a peer's Config, or undefined if it is acceptable (SKS test_configdata). */
export function checkPeerConfig(local: SessionConfig, remote: Map<string, string>): string | undefined {
  const version = remote.get('version');
  const filters = remote.get('filters');
  const bq = parseIntString(remote.get('bitquantum'));
  const mbar = parseIntString(remote.get('mbar'));
  if (version === undefined || filters === undefined || bq === undefined || mbar === undefined ||
      parseIntString(remote.get('http port')) === undefined) {
    return 'Missing entry in configdata';
  }
  const vt = versionTuple(version);
  if (!vt || vt[0]! < MIN_VERSION[0]! || (vt[0] === MIN_VERSION[0] && (vt[1]! < MIN_VERSION[1]! ||
      (vt[1] === MIN_VERSION[1] && vt[2]! < MIN_VERSION[2]!)))) {
    return `Requires version at least ${MIN_VERSION.join('.')}.  ${version} provided `;
  }
  if (!sameFilters(filters, local.filters)) {
    return `filters do not match.\n\tlocal filters: [${local.filters.split(',').join(', ')}]\n\tremote filters: [${filters.split(',').join(', ')}]`;
  }
  if (bq !== BITQUANTUM) return 'bitquantum values do not match';
  if (mbar !== MBAR) return 'mbar values do not match';
  return undefined;
}

/** True if two Config filter strings name the same set of filters (SKS compares them as sets). */
export function sameFilters(a: string, b: string): boolean {
  return filterSet(a) === filterSet(b);
}

async function readConfigMessage(ch: Channel): Promise<Map<string, string>> {
  const msg = await ch.readMessage();
  if (msg.type !== 'Config') throw new SessionError('protocol', `expected Config, got ${describe(msg)}`);
  return new Map(msg.pairs);
}

/**
 * Reads the peer's Config before sending ours. SKS and Hockeypuck both send their Config without waiting for the
 * other's, so an acceptor may listen first: that lets one address hold members of several recon profiles, each
 * answered in the profile it announces. Pass the result to exchangeConfig (through walk) to finish the exchange.
 */
export function readPeerConfig(ch: Channel, configTimeoutMs: number): Promise<Map<string, string>> {
  return withConfigTimeout(ch, configTimeoutMs, () => readConfigMessage(ch));
}

/** Runs fn with the channel's read timeout set to the Config timeout, then puts the session's back. */
async function withConfigTimeout<T>(ch: Channel, configTimeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const saved = ch.limits;
  ch.limits = { ...saved, readTimeoutMs: configTimeoutMs };
  try {
    return await fn();
  } finally {
    ch.limits = { ...ch.limits, readTimeoutMs: saved.readTimeoutMs };
  }
}

/**
 * Config exchange and verdicts; returns the peer's Config. Throws SessionError('config') on refusal.
 * `peerConfig`: the peer's Config if readPeerConfig has already read it.
 */
export function exchangeConfig(ch: Channel, cfg: SessionConfig, peerConfig?: Map<string, string>): Promise<Map<string, string>> {
  return withConfigTimeout(ch, cfg.configTimeoutMs, async () => {
    ch.sendMessage({ type: 'Config', pairs: configPairs(cfg) });
    const remote = peerConfig ?? await readConfigMessage(ch);
    const problem = checkPeerConfig(cfg, remote);
    if (problem) {
      ch.sendString('failed');
      ch.sendString(problem);
      throw new SessionError('config', `refused the peer's configuration: ${problem.replace(/\s+/g, ' ')} ` +
        `(peer version ${remote.get('version') ?? '?'}, filters "${remote.get('filters') ?? ''}")`);
    }
    ch.sendString('passed');
    const verdict = await ch.readString();
    if (verdict === 'failed') {
      const reason = await ch.readString();
      throw new SessionError('config', `the peer refused our configuration: ${reason.replace(/\s+/g, ' ')}`);
    }
    if (verdict !== 'passed') throw new SessionError('protocol', `unexpected configuration verdict ${JSON.stringify(verdict.slice(0, 40))}`);
    return remote;
  });
}

const TWO_128 = 1n << 128n;

/** Collects the peer's elements we lack, keeping only values that can be digests, up to maxRecover. */
class MissingSet {
  readonly set = new Set<bigint>();
  dropped = 0;
  constructor(private readonly max: number) {}
  add(xs: Iterable<bigint>): void {
    for (const x of xs) {
      if (x >= TWO_128) continue; // not a 16-byte digest: nothing to fetch
      if (this.set.size >= this.max) {
        if (!this.set.has(x)) this.dropped++;
        continue;
      }
      this.set.add(x);
    }
  }
  digests(): Buffer[] {
    return [...this.set].map((x) => zzp.zToDigest(x));
  }
}

/** Elements in ascending numeric order, the order SKS marshals its sets in (so our messages match its bytes). */
function sorted(xs: bigint[]): bigint[] {
  return xs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function elementsOf(tree: ReconView, prefix: string): bigint[] {
  return sorted(tree.elements(prefix).map((d) => zzp.digestToZ(d)));
}

function result(ch: Channel, remote: Map<string, string>, missing: MissingSet, messages: number): SessionResult {
  return {
    missing: missing.digests(),
    peerHttpPort: parseIntString(remote.get('http port')) ?? 0,
    peerVersion: remote.get('version') ?? '',
    bytesIn: ch.bytesIn,
    bytesOut: ch.bytesOut,
    messages,
    sent: { ...ch.sent },
    received: { ...ch.received },
  };
}

/**
 * The accepting side: walks our tree from the root, asking the peer about each node (SKS client.ml).
 * `peerConfig`: the peer's Config, if it was read before ours was chosen (readPeerConfig).
 */
export async function walk(ch: Channel, tree: ReconView, cfg: SessionConfig, peerConfig?: Map<string, string>): Promise<SessionResult> {
  const remote = await exchangeConfig(ch, cfg, peerConfig);
  const missing = new MissingSet(cfg.maxRecover);
  let messages = 0;
  const queue: string[] = [''];
  while (queue.length > 0) {
    const batch = queue.splice(0, MAX_OUTSTANDING);
    const sent: Array<{ prefix: string; isLeaf: boolean; full: boolean }> = [];
    for (const prefix of batch) {
      const node = tree.nodeValues(prefix);
      if (!node) throw new SessionError('protocol', `our tree has no node '${prefix}'`);
      const full = node.isLeaf || node.numElements < FULL_THRESHOLD;
      ch.sendMessage(full
        ? { type: 'ReconRqstFull', prefix, elements: elementsOf(tree, prefix) }
        : { type: 'ReconRqstPoly', prefix, size: node.numElements, samples: node.values });
      sent.push({ prefix, isLeaf: node.isLeaf, full });
    }
    ch.sendMessage({ type: 'Flush' });
    for (const req of sent) {
      const reply = await ch.readMessage();
      messages++;
      switch (reply.type) {
        case 'SyncFail':
          if (req.full) throw new SessionError('protocol', `SyncFail for a full-list request ('${req.prefix}')`);
          for (const c of ['00', '01', '10', '11']) queue.push(req.prefix + c);
          break;
        case 'Elements':
          missing.add(reply.elements);
          break;
        case 'FullElements': {
          const local = new Set(elementsOf(tree, req.prefix));
          const remoteSet = new Set(reply.elements);
          ch.sendMessage({ type: 'Elements', elements: [...local].filter((x) => !remoteSet.has(x)) });
          missing.add(reply.elements.filter((x) => !local.has(x)));
          break;
        }
        case 'Error':
          throw new SessionError('peer-error', `peer reported an error: ${reply.text.slice(0, 300)}`);
        default:
          throw new SessionError('protocol', `unexpected ${describe(reply)} in answer to a request`);
      }
    }
  }
  ch.sendMessage({ type: 'Done' });
  return result(ch, remote, missing, messages);
}

/** The initiating side: answers the peer's requests about its tree until Done (SKS server.ml). */
export async function answer(ch: Channel, tree: ReconView, cfg: SessionConfig): Promise<SessionResult> {
  const remote = await exchangeConfig(ch, cfg);
  const missing = new MissingSet(cfg.maxRecover);
  let messages = 0;
  for (;;) {
    const msg: ReconMessage = await ch.readMessage();
    messages++;
    switch (msg.type) {
      case 'ReconRqstPoly': {
        const node = tree.nodeValues(msg.prefix);
        if (!node) {
          ch.sendMessage({ type: 'Error', text: 'server should never receive request for non-existant node (ReconRqst_Poly)' });
          throw new SessionError('protocol', `peer asked about a prefix we cannot have ('${msg.prefix.slice(0, 64)}')`);
        }
        if (msg.samples.length !== zzp.NUM_SAMPLES) {
          throw new SessionError('protocol', `ReconRqst_Poly with ${msg.samples.length} samples (expected ${zzp.NUM_SAMPLES})`);
        }
        const solved = reconcile(ratio(msg.samples, node.values), zzp.SAMPLE_POINTS, msg.size - node.numElements);
        if (solved) {
          ch.sendMessage({ type: 'Elements', elements: sorted(solved.localOnly) });
          missing.add(solved.remoteOnly);
        } else if ((node.isLeaf || node.numElements < FULL_THRESHOLD) && msg.size <= PTREE_SPLIT_THRESHOLD) {
          ch.sendMessage({ type: 'FullElements', elements: elementsOf(tree, msg.prefix) });
        } else {
          // SKS answers FullElements here whenever its own node is small; the walker must then send back what we lack.
          // Hockeypuck (2.1-2.3) queues that Elements reply and ends the session without sending it when its node
          // still has children, so those keys never reach us. SyncFail makes the walker descend to its own leaves,
          // whose ReconRqst_Full lists every element: we learn what we lack from its requests, not its replies.
          ch.sendMessage({ type: 'SyncFail' });
        }
        break;
      }
      case 'ReconRqstFull': {
        if (!tree.nodeValues(msg.prefix)) {
          ch.sendMessage({ type: 'Error', text: 'server should never received request for non-existant node (ReconRqst_Full)' });
          throw new SessionError('protocol', `peer asked about a prefix we cannot have ('${msg.prefix.slice(0, 64)}')`);
        }
        const local = elementsOf(tree, msg.prefix);
        const localSet = new Set(local);
        const remoteSet = new Set(msg.elements);
        ch.sendMessage({ type: 'Elements', elements: local.filter((x) => !remoteSet.has(x)) });
        missing.add(msg.elements.filter((x) => !localSet.has(x)));
        break;
      }
      case 'Elements':
        missing.add(msg.elements);
        break;
      case 'Flush':
        break;
      case 'Done':
        return result(ch, remote, missing, messages);
      case 'Error':
        throw new SessionError('peer-error', `peer reported an error: ${msg.text.slice(0, 300)}`);
      default:
        throw new SessionError('protocol', `unexpected ${describe(msg)} from the walking peer`);
    }
  }
}
