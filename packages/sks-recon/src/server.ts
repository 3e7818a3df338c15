// The recon service: listens on recon_address:recon_port for member peers (membership gate), gossips to a random
// member every gossip_interval_s, and after each session fetches what it lacks and merges it into the key store.
// Up to recon_max_sessions sessions run at once, one per peer (SKS ran one): a slow or hostile member holds one
// slot while the others keep reconciling; a peer that finds no slot is turned away and tries again next round.
// Each member has a recon profile (its membership line's third field, else the first of recon_profiles): a session
// announces that profile's Config and reconciles that profile's digest set, so one server peers with SKS 1.1.6 and
// Hockeypuck 2.2/2.3 at once. Both sides send Config before reading the other's, so the profile is chosen before
// the first byte: by membership for sessions we start, by the peer's address for sessions it starts. Where members of
// several profiles share an address (SKS and Hockeypuck on one host), we read the caller's Config first and answer
// in the profile whose filters it announces: SKS and Hockeypuck send theirs without waiting for ours.
import { EventEmitter } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  StoreUnavailableError, memberProfile, policyFromSettings, readMembership, reconProfiles, type KeyReader, type KeyWriter, type Logger,
  type Peer, type ReconPeerLog, type ReconSet, type ReconView, type RefusedDigestMemory, type Settings,
} from '@sks/keystore';
import { plainAddress } from '@sks/service';
import { Channel, SessionError } from './channel.js';
import { answer, readPeerConfig, sameFilters, walk, type SessionConfig, type SessionResult } from './session.js';
import { hashquery } from './fetch.js';
import { ingestBatch } from './ingest.js';

export interface ReconServerOptions {
  /** The store's roles recon uses: its recon set (read per session in one snapshot), the writer for fetched keys. */
  store: ReconSet & KeyWriter & Pick<KeyReader, 'getByFingerprint'> & Pick<ReconPeerLog, 'recordReconSession'>;
  settings: Settings;
  /** Path of the membership file (SKS format). */
  membershipFile: string;
  logger: Logger;
}

/** What one session did; logged as one line and emitted as the 'session' event. */
export interface SessionSummary {
  peer: string;
  role: 'initiator' | 'acceptor';
  /** The recon profile of the session (whose Config was announced and whose set reconciled). */
  profile?: string;
  ok: boolean;
  error?: string;
  errorKind?: string;
  /** Digests the session found we lack. */
  recovered: number;
  /** Of those, not fetched because a recent fetch of them was refused. */
  skippedRefused: number;
  /** Keys the peer sent. */
  fetched: number;
  /** Keys inserted or updated. */
  stored: number;
  /** Digests fetched but still not held afterwards (refused or cut by policy, or not served): remembered. */
  refused: number;
  bytesIn: number;
  bytesOut: number;
  /** Where the time went: the recon exchange, the /pks/hashquery requests (summed; they overlap the storing), storing. */
  sessionMs?: number;
  fetchMs?: number;
  storeMs?: number;
  /** The HKP port the peer announced in its Config (absent when the session failed before). */
  peerHttpPort?: number;
  /** Recon messages by type each way (absent when the session failed). */
  sent?: Record<string, number>;
  received?: Record<string, number>;
  ms: number;
}

export class ReconServer extends EventEmitter {
  /** Our recon set as it is now (sessions read a snapshot of it). */
  readonly tree: ReconView;
  readonly refused: RefusedDigestMemory;
  private servers: Server[] = [];
  private members: Peer[] = [];
  /** Addresses allowed to connect, with the recon profiles of the members there (membership order, no repeats). */
  private allowed = new Map<string, string[]>();
  /** The active recon profiles' Config filters, by profile (the sks profile announces setting filters). */
  private readonly filters: Map<string, string>;
  /** Running sessions by peer host (the address of an incoming peer, the membership name of one we called). */
  private readonly running = new Map<string, Promise<unknown>>();
  /** When each refused address was last logged (one line per address and minute, however often it connects). */
  private readonly refusedLogged = new Map<string, number>();
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  private gossipTimer?: NodeJS.Timeout;
  private sockets = new Set<Socket>();

  constructor(readonly opts: ReconServerOptions) {
    super();
    this.tree = opts.store.reconView;
    this.refused = opts.store.refusedDigests(opts.settings.refused_backoff_s);
    const profiles = reconProfiles(opts.settings.recon_profiles, { policy: policyFromSettings(opts.settings) });
    if (profiles.length === 0) throw new Error('recon_profiles names no recon profile');
    this.filters = new Map(profiles.map((p) => [p.name, p.name === 'sks' ? opts.settings.filters : p.config.filters]));
  }

  /** The profile a membership line stands for (memberProfile); profileOf({}) is the first active one. */
  profileOf(peer: Pick<Peer, 'profile'>): string {
    return memberProfile(peer, this.s.recon_profiles);
  }

  private get s(): Settings {
    return this.opts.settings;
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  sessionConfig(profile = this.profileOf({})): SessionConfig {
    const filters = this.filters.get(profile);
    if (filters === undefined) throw new Error(`recon profile "${profile}" is not in recon_profiles`);
    return {
      httpPort: this.s.recon_http_port || this.s.hkp_port,
      filters,
      maxRecover: this.s.max_recover,
      configTimeoutMs: this.s.recon_config_timeout_s * 1000,
      readTimeoutMs: this.s.recon_read_timeout_s * 1000,
    };
  }

  /** Listens on every recon_address, loads membership and starts gossiping. Resolves once listening. */
  async start(): Promise<void> {
    await this.reloadMembership();
    for (const address of this.s.recon_address) {
      const srv = createServer((sock) => this.onConnection(sock));
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(this.s.recon_port, address, () => resolve());
      });
      srv.on('error', (e) => this.log.error('recon listener error', { error: e.message }));
      this.servers.push(srv);
    }
    const reload = setInterval(() => void this.reloadMembership(), Math.max(1, this.s.membership_reload_s) * 1000);
    reload.unref();
    this.timers.push(reload);
    if (!this.s.disable_gossip) this.scheduleGossip();
    this.log.info('sks-recon listening', {
      addresses: this.s.recon_address, port: this.s.recon_port, httpPort: this.sessionConfig().httpPort,
      profiles: [...this.filters.keys()],
      members: this.members.length, gossipIntervalS: this.s.disable_gossip ? null : this.s.gossip_interval_s,
    });
  }

  /** The port actually bound (useful when recon_port is 0). */
  get port(): number {
    const a = this.servers[0]?.address();
    return typeof a === 'object' && a ? a.port : this.s.recon_port;
  }

  /** Re-reads the membership file and resolves every member's host to the addresses allowed to connect. */
  async reloadMembership(): Promise<void> {
    let peers: Peer[];
    try {
      peers = readMembership(this.opts.membershipFile);
    } catch (e) {
      this.log.error('membership file unreadable; keeping the previous list', { error: (e as Error).message });
      return;
    }
    const allowed = new Map<string, string[]>();
    const usable: Peer[] = [];
    for (const p of peers) {
      const profile = this.profileOf(p);
      if (!this.filters.has(profile)) {
        this.log.error('membership names a recon profile that is not in recon_profiles; member skipped',
          { host: p.host, port: p.port, profile, active: [...this.filters.keys()] });
        continue;
      }
      usable.push(p);
      const allow = (a: string) => {
        const had = allowed.get(a);
        if (had === undefined) allowed.set(a, [profile]);
        else if (!had.includes(profile)) had.push(profile);
      };
      if (isIP(p.host)) {
        allow(p.host);
        continue;
      }
      try {
        for (const r of await lookup(p.host, { all: true })) allow(plainAddress(r.address));
      } catch (e) {
        this.log.warn('membership host does not resolve', { host: p.host, error: (e as Error).message });
      }
    }
    for (const [address, profiles] of allowed) {
      if (profiles.length > 1 && !sameList(this.allowed.get(address), profiles)) {
        this.log.info('members at one address name different recon profiles; a session that address starts is answered ' +
          'in the profile whose filters it announces', { address, profiles });
      }
    }
    this.members = usable;
    this.allowed = allowed;
  }

  /** Of the profiles an address may use, the one whose filters the peer announced (else the first: refused then). */
  private profileAnnounced(peerConfig: Map<string, string>, candidates: readonly string[]): string {
    const filters = peerConfig.get('filters');
    const hit = filters === undefined ? undefined : candidates.find((p) => sameFilters(filters, this.filters.get(p)!));
    return hit ?? candidates[0]!;
  }

  private scheduleGossip(): void {
    if (this.stopped) return;
    // 10 % jitter, as SKS, so two servers started together do not keep colliding.
    const base = this.s.gossip_interval_s * 1000;
    const delay = Math.max(100, base * (0.9 + Math.random() * 0.2));
    this.gossipTimer = setTimeout(() => {
      void this.gossipOnce().finally(() => this.scheduleGossip());
    }, delay);
    this.gossipTimer.unref();
  }

  /** One gossip round with a random member (no-op without members or while a session runs). */
  async gossipOnce(): Promise<SessionSummary | undefined> {
    if (this.members.length === 0 || this.running.size >= this.maxSessions || this.stopped) return undefined;
    const peer = this.members[Math.floor(Math.random() * this.members.length)]!;
    return this.syncWith(peer);
  }

  /** Initiates a session with a peer now (we answer, the peer walks), then fetches what we lack. */
  async syncWith(peer: { host: string; port: number; profile?: string }): Promise<SessionSummary> {
    const label = `${peer.host}:${peer.port}`;
    // a peer named without a profile: the one its membership line gives
    const member = peer.profile === undefined ? this.members.find((m) => m.host === peer.host && m.port === peer.port) : undefined;
    const profile = this.profileOf(member ?? peer);
    const full = this.noSlot(peer.host) ?? this.notReady(profile);
    if (full) return this.refusedSummary(label, 'initiator', full);
    const t0 = Date.now();
    const local = this.s.recon_address[0];
    const localAddress = local && local !== '0.0.0.0' && local !== '::' ? local : undefined;
    const run = (async () => {
      let sock: Socket;
      try {
        sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: peer.host, port: peer.port, localAddress });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
          s.setTimeout(this.s.recon_config_timeout_s * 1000, () => s.destroy(new Error('connect timed out')));
        });
        sock.setTimeout(0);
      } catch (e) {
        return this.finish(this.failedSummary(label, 'initiator', t0, new SessionError('closed', `cannot connect: ${(e as Error).message}`), undefined, profile));
      }
      return this.runSession(sock, label, 'initiator', peer.host, t0, [profile]);
    })();
    this.running.set(peer.host, run);
    try {
      return await run;
    } finally {
      this.running.delete(peer.host);
    }
  }

  private get maxSessions(): number {
    return Math.max(1, this.s.recon_max_sessions);
  }

  /** Why a session of this profile cannot start now: its set is being built, or not kept at all. */
  private notReady(profile: string): string | undefined {
    if (!this.filters.has(profile)) return `recon profile "${profile}" is not in recon_profiles`;
    const set = this.opts.store.reconSets().find((s) => s.profile === profile);
    if (!set) return `the store keeps no ${profile} digest set`;
    if (set.building) return `the ${profile} digest set is still being built`;
    return undefined;
  }

  /** Why a session with this peer cannot start now, if it cannot. */
  private noSlot(host: string): string | undefined {
    if (this.running.has(host)) return 'a session with this peer is running';
    if (this.running.size >= this.maxSessions) return `${this.running.size} sessions are running (recon_max_sessions)`;
    return undefined;
  }

  /** Logs a turned-away connection at most once a minute per address (a flood of them writes a bounded log). */
  private logRefused(addr: string, message: string, peer: string): void {
    const now = Date.now();
    if (now - (this.refusedLogged.get(addr) ?? 0) < 60_000) return;
    if (this.refusedLogged.size > 10_000) this.refusedLogged.clear();
    this.refusedLogged.set(addr, now);
    this.log.warn(message, { peer, note: 'further connections from this address are not logged for a minute' });
  }

  private onConnection(sock: Socket): void {
    const addr = plainAddress(sock.remoteAddress);
    const label = `${addr}:${sock.remotePort}`;
    if (this.stopped) {
      sock.destroy();
      return;
    }
    const profiles = this.allowed.get(addr);
    if (profiles === undefined) {
      this.logRefused(addr, 'recon connection from a host not in membership refused', label);
      sock.destroy();
      this.emit('session', this.refusedSummary(label, 'acceptor', 'not a member'));
      return;
    }
    // With several profiles at this address, readiness is checked once the peer's Config says which one it is.
    const full = this.noSlot(addr) ?? (profiles.length === 1 ? this.notReady(profiles[0]!) : undefined);
    if (full) {
      this.turnAway(sock, addr, label, full);
      return;
    }
    const run = this.runSession(sock, label, 'acceptor', addr, Date.now(), profiles).finally(() => {
      this.running.delete(addr);
    });
    this.running.set(addr, run);
  }

  private turnAway(sock: Socket, addr: string, label: string, why: string): SessionSummary {
    this.logRefused(addr, `recon connection turned away: ${why}`, label);
    sock.destroy();
    const summary = this.refusedSummary(label, 'acceptor', 'busy');
    this.emit('session', summary);
    return summary;
  }

  /** `profiles`: the one of a session we start; those of the members at the caller's address for one it starts. */
  private async runSession(sock: Socket, label: string, role: 'initiator' | 'acceptor', httpHost: string,
    t0: number, profiles: readonly string[]): Promise<SessionSummary> {
    this.sockets.add(sock);
    sock.setNoDelay(true);
    const ch = new Channel(sock, {
      maxMessageBytes: this.s.recon_max_message_bytes,
      readTimeoutMs: this.s.recon_read_timeout_s * 1000,
    });
    const limit = setTimeout(() => sock.destroy(), this.s.recon_session_timeout_s * 1000);
    limit.unref();
    let res: SessionResult | undefined;
    let snapshot: ReturnType<ReconSet['openSnapshot']> | undefined;
    let profile = profiles[0]!;
    try {
      let peerConfig: Map<string, string> | undefined;
      if (profiles.length > 1) {
        peerConfig = await readPeerConfig(ch, this.s.recon_config_timeout_s * 1000);
        profile = this.profileAnnounced(peerConfig, profiles);
        const why = this.notReady(profile);
        if (why) return this.turnAway(sock, httpHost, label, why);
      }
      // One version of our set for the whole session, whatever other processes write meanwhile.
      snapshot = this.opts.store.openSnapshot(profile);
      res = role === 'acceptor'
        ? await walk(ch, snapshot, this.sessionConfig(profile), peerConfig)
        : await answer(ch, snapshot, this.sessionConfig(profile));
      ch.close();
    } catch (e) {
      // A refused configuration was explained to the peer ("failed" and the reason): let those bytes go out.
      if (e instanceof SessionError && e.kind === 'config') ch.close();
      else ch.destroy();
      return this.finish(this.failedSummary(label, role, t0, e, ch, profile));
    } finally {
      snapshot?.close();
      clearTimeout(limit);
      this.sockets.delete(sock);
    }
    return this.finish(await this.fetchMissing(res, label, role, httpHost, t0, profile));
  }

  /** Fetches the digests we lack from the peer's HKP port and merges them; remembers what did not stick. */
  private async fetchMissing(res: SessionResult, label: string, role: 'initiator' | 'acceptor', httpHost: string,
    t0: number, profile: string): Promise<SessionSummary> {
    const summary: SessionSummary = {
      peer: label, role, profile, ok: true, recovered: res.missing.length, skippedRefused: 0, fetched: 0, stored: 0,
      refused: 0, bytesIn: res.bytesIn, bytesOut: res.bytesOut, sent: res.sent, received: res.received, ms: 0,
      sessionMs: Date.now() - t0, fetchMs: 0, storeMs: 0, ...(res.peerHttpPort > 0 ? { peerHttpPort: res.peerHttpPort } : {}),
    };
    let fetch = res.missing;
    try {
      this.refused.prune();
      const p = this.refused.partition(res.missing);
      fetch = p.fetch;
      summary.skippedRefused = p.skipped;
    } catch (e) {
      this.log.warn('refused-digest memory unreadable; fetching every missing digest', { error: (e as Error).message });
    }
    const todo = fetch.slice(0, this.s.max_recover);
    const local = this.s.recon_address[0];
    const localAddress = local && local !== '0.0.0.0' && local !== '::' ? local : undefined;
    const notHeld: Array<{ digest: Buffer; reason: string }> = [];
    // While one batch is merged into the store, the next is already on its way (the wait is the peer's).
    const batches: Buffer[][] = [];
    for (let i = 0; i < todo.length; i += this.s.http_fetch_size) batches.push(todo.slice(i, i + this.s.http_fetch_size));
    const fetchBatch = (batch: Buffer[]) => {
      const t = performance.now();
      return hashquery(batch, {
        host: httpHost, port: res.peerHttpPort, localAddress,
        timeoutMs: this.s.missing_keys_timeout_s * 1000, maxBytes: this.s.recon_max_fetch_bytes,
      }).then((keys) => ({ keys, ms: performance.now() - t }), (error: Error) => ({ error, ms: performance.now() - t }));
    };
    let next = batches.length > 0 ? fetchBatch(batches[0]!) : undefined;
    for (let bi = 0; bi < batches.length && next && !this.stopped; bi++) {
      const batch = batches[bi]!;
      const got: { keys?: Buffer[]; error?: Error; ms: number } = await next;
      next = bi + 1 < batches.length && !got.error ? fetchBatch(batches[bi + 1]!) : undefined;
      summary.fetchMs! += Math.round(got.ms);
      if (!got.keys) {
        // Not a refusal: the keys were never seen. The next session finds them again.
        summary.ok = false;
        summary.error = `fetching from ${httpHost}:${res.peerHttpPort} failed: ${got.error?.message}`;
        summary.errorKind = 'fetch';
        break;
      }
      const keys = got.keys;
      summary.fetched += keys.length;
      const ts = performance.now();
      try {
        const r = await ingestBatch(this.opts.store, batch, keys, profile);
        summary.stored += r.stored;
        notHeld.push(...r.refused);
      } catch (e) {
        // Our failure, not the keys': nothing of the batch was written and nothing is remembered, so the next
        // session finds these digests missing again and fetches them.
        summary.ok = false;
        summary.error = `storing fetched keys failed: ${(e as Error).message}`;
        summary.errorKind = e instanceof StoreUnavailableError ? 'store-unavailable' : 'store';
        summary.storeMs! += Math.round(performance.now() - ts);
        break;
      }
      summary.storeMs! += Math.round(performance.now() - ts);
    }
    try {
      this.refused.record(notHeld, label);
    } catch (e) {
      // Only the back-off is lost: these digests are fetched again next session.
      this.log.warn('could not remember refused digests', { error: (e as Error).message, digests: notHeld.length });
    }
    summary.refused = notHeld.length;
    summary.ms = Date.now() - t0;
    return summary;
  }

  private failedSummary(label: string, role: 'initiator' | 'acceptor', t0: number, e: unknown,
    ch: Channel | undefined, profile?: string): SessionSummary {
    const err = e instanceof SessionError ? e : new SessionError('protocol', (e as Error)?.message ?? String(e));
    return {
      peer: label, role, profile, ok: false, error: err.message, errorKind: err.kind, recovered: 0, skippedRefused: 0,
      fetched: 0, stored: 0, refused: 0, bytesIn: ch?.bytesIn ?? 0, bytesOut: ch?.bytesOut ?? 0, ms: Date.now() - t0,
    };
  }

  private refusedSummary(label: string, role: 'initiator' | 'acceptor', why: string): SessionSummary {
    return {
      peer: label, role, ok: false, error: why,
      errorKind: why === 'not a member' ? 'membership' : /digest set|recon_profiles/.test(why) ? 'profile' : 'busy',
      recovered: 0, skippedRefused: 0, fetched: 0, stored: 0, refused: 0, bytesIn: 0, bytesOut: 0, ms: 0,
    };
  }

  private finish(summary: SessionSummary): SessionSummary {
    const { peer, role, ok, error, errorKind, ...figures } = summary;
    if (ok) this.log.info('recon session done', { peer, role, ...figures });
    else this.log.warn(`recon session ended: ${error}`, { peer, role, errorKind, ...figures });
    // Sessions we start are with a membership line's host:port: their health lets push sync fail over to HKP
    // (membership "failover") and the stats page show each partner's state.
    if (role === 'initiator') {
      try {
        this.opts.store.recordReconSession(peer, { ok, ...(error ? { error } : {}), ...(summary.peerHttpPort ? { httpPort: summary.peerHttpPort } : {}) });
      } catch (e) {
        this.log.warn('could not record the session in recon_peers', { peer, error: (e as Error).message });
      }
    }
    this.emit('session', summary);
    return summary;
  }

  /** Stops listening and gossiping, ends running sessions, and waits for them to wind down. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.gossipTimer) clearTimeout(this.gossipTimer);
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
    this.servers = [];
    await Promise.all([...this.running.values()].map((r) => r.catch(() => undefined)));
  }
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}
