// Every tunable of the suite, in one table: name as written in `sksconf`, type, default and what it does.
// docs/OPERATIONS.md's settings table is generated from it (packages/sks-cron/test/operations-doc.test.ts fails
// when the two differ; UPDATE_DOCS=1 rewrites it), so a setting that is not here does not exist.

export type SettingType = 'string' | 'int' | 'bool' | 'list';

export interface SettingSpec {
  type: SettingType;
  default: string | number | boolean | string[];
  doc: string;
  /** Which process reads it; for documentation only. */
  usedBy: Array<'all' | 'sks-db' | 'sks-recon' | 'sks-cron' | 'load' | 'mail-in'>;
}

export const SETTINGS = {
  // --- where things live ---------------------------------------------------------------------------
  db_file: { type: 'string', default: 'keys.sqlite', usedBy: ['all'],
    doc: 'SQLite database file, relative to the base directory. All three processes open it (WAL mode).' },
  db_busy_timeout_ms: { type: 'int', default: 30000, usedBy: ['all'],
    doc: 'How long a process waits for another one\'s write lock on the database before the write fails.' },
  wal_checkpoint_interval_ms: { type: 'int', default: 500, usedBy: ['sks-db', 'sks-recon'],
    doc: 'sks-recon and sks-db\'s upload path copy the write-ahead log into the database file (a checkpoint) from a '
      + 'thread of their own this often, so a commit does not wait for it (SQLite does it inside the commit that '
      + 'passes 1000 log pages: 60 of the 120 ms a 100-key recon batch took at 2M keys). 0: off, as SQLite does it.' },
  db_prefetch_threads: { type: 'int', default: 4, usedBy: ['sks-recon'],
    doc: 'Threads sks-recon reads a fetched batch\'s index pages with before it stores the batch. On a store larger '
      + 'than memory each key lands on about eight random pages of the indexes, which the write would otherwise read '
      + 'from disk one after another while it holds the write lock; several threads let the disk answer them at once. '
      + 'On a store that fits in memory the threads find their pages at once and save nothing (100 keys into a 105k-key '
      + 'store: 46-69 ms without them, 50-112 ms with them, on a busy machine). 0: off.' },
  db_reader_mmap_mib: { type: 'int', default: 1048576, usedBy: ['sks-db'],
    doc: 'sks-db\'s workers read this much of the database file through a memory map instead of copying each page '
      + 'into their own cache (SQLite\'s mmap_size): a lookup of a random key on a 1M-key store took a fifth less '
      + 'time. The mapped pages are the kernel\'s file cache, shared by the workers and counted in their RSS, not '
      + 'extra memory. The default maps any store whole (up to 1 TiB). Our build of better-sqlite3 (patches/) lifts '
      + 'SQLite\'s own cap of 2047 MiB: on a 1M-key store of 3.9 GB, mapped whole instead of its first 2047 MiB, '
      + 'op=get of random keys took 13% less server CPU and answered 10% more (wrk, 4 alternating rounds, 3 in its '
      + 'favour). A build without the patch maps at most 2047 MiB (logged at start) and reads the pages beyond as usual. '
      + 'A disk error while reading through the map ends the worker (SIGBUS; the primary logs "an sks-db worker '
      + 'stopped unexpectedly" and starts another) where a '
      + 'copied read would fail one request. 0: off (use it where the file sits on a network filesystem).' },
  db_reader_fingerprint_table_mib: { type: 'int', default: 128, usedBy: ['sks-db'],
    doc: 'Memory of each sks-db worker, in MiB, for a table of the keys\' row ids by fingerprint, filled in the '
      + 'background after the worker starts: op=get by fingerprint (most of what GnuPG asks) then reads one B-tree of '
      + 'the database instead of two. On random keys of a 1M-key store the SQLite read took about a fifth less time '
      + '(12-14 -> 10 µs) and the server 6-8% less CPU per request. It needs about 11 to 21 bytes per key (16 MiB for 1M '
      + 'keys, 64 MiB for 6M; the default holds up to 12M); a store with more keys than it holds gets none and is read through the index as '
      + 'before. The table is a hint: each hit is checked against the row\'s fingerprint, and keys stored later are '
      + 'learned when first asked for. 0: off.' },
  db_reader_cache_mib: { type: 'int', default: 64, usedBy: ['sks-db'],
    doc: 'SQLite page cache of each sks-db worker, in MiB, for the pages the map above does not cover (on a large '
      + 'store the lookup indexes, built last, lie past its end). With 64 instead of 16 MiB the indexes of a 1M-key '
      + 'store stay cached under random lookups: op=get by fingerprint 30k -> 34k req/s, mr index 53k -> 59k. '
      + 'Taken only as pages are read.' },
  log_dir: { type: 'string', default: 'log', usedBy: ['all'],
    doc: 'Folder for the services\' JSON log files, relative to the base directory.' },
  log_level: { type: 'string', default: 'info', usedBy: ['all'],
    doc: 'winston level: error, warn, info, verbose, debug.' },
  log_lookups: { type: 'bool', default: false, usedBy: ['sks-db'],
    doc: 'Log search terms and fetched key IDs. Off by default: who looked up which key is nobody\'s business.' },
  web_root: { type: 'string', default: 'web', usedBy: ['sks-db'],
    doc: 'Static web root (search page etc.), relative to the base directory. Falls back to the built-in pages.' },

  // --- identity --------------------------------------------------------------------------------------
  hostname: { type: 'string', default: 'localhost', usedBy: ['sks-db', 'sks-recon'],
    doc: 'Public name of this server, shown on the stats page.' },
  server_contact: { type: 'string', default: '', usedBy: ['sks-db'],
    doc: 'OpenPGP fingerprint or address of the operator, shown on the stats page.' },
  nodename: { type: 'string', default: '', usedBy: ['sks-db'], doc: 'SKS compatibility alias of hostname.' },

  // --- HKP service (sks-db) --------------------------------------------------------------------------
  hkp_address: { type: 'list', default: ['127.0.0.1'], usedBy: ['sks-db'],
    doc: 'Addresses sks-db listens on (space separated, as in SKS).' },
  hkp_port: { type: 'int', default: 11371, usedBy: ['sks-db', 'sks-recon'],
    doc: 'HKP port. sks-recon announces it to peers as its "http port" unless recon_http_port is set.' },
  db_workers: { type: 'int', default: 0, usedBy: ['sks-db'],
    doc: 'HTTP worker processes; 0 means one per CPU core.' },
  db_worker_semi_space_mib: { type: 'int', default: 4, usedBy: ['sks-db'],
    doc: "Each HTTP worker's young-generation semi-space in MiB (node's --max-semi-space-size); 0 keeps node's own (16). A smaller one means shorter collection pauses, which the slowest answers wait for: at c=64 on a 1M-key store, random op=get with the caches off had a p99 of about 20 ms with 4 and 26 ms with node's own (with the caches on, about 27 ms either way)." },
  db_worker_memory_reducer: { type: 'bool', default: false, usedBy: ['sks-db'],
    doc: "Whether V8's memory reducer runs in the HTTP workers (node's --memory-reducer). After about 8 s of little " +
      'work it shrinks a heap with full collections, and the next burst of lookups then runs in the shrunken heap: ' +
      'on a 2M-key store, random op=get at c=64 after such pauses gave 10.8-13.7k req/s with a p99 of 23-30 ms with ' +
      'it, 16.6-17.7k req/s with a p99 of 16-19 ms without. Off, an idle worker keeps the heap it last needed (about ' +
      '150 MiB of RSS each there); on gives that memory back while idle.' },
  max_body_bytes: { type: 'int', default: 8 * 1024 * 1024, usedBy: ['sks-db'],
    doc: 'Largest accepted POST body (/pks/add, /pks/hashquery), matching nginx client_max_body_size 8m.' },
  max_uploads_per_client: { type: 'int', default: 4, usedBy: ['sks-db'],
    doc: 'Uploads (/pks/add) one client address may have in progress at once in each sks-db worker; more are '
      + 'answered 429 at once, so one eager uploader cannot take every worker\'s time. 0 = no cap.' },
  trusted_proxies: { type: 'list', default: ['127.0.0.1', '::1'], usedBy: ['sks-db'],
    doc: 'Addresses (or IPv4 ranges like 172.16.0.0/12) of proxies in front of sks-db, such as nginx: for a request '
      + 'from one of them the client is the last address of its X-Forwarded-For header (per-client limits).' },
  owner_delete_max_validity_s: { type: 'int', default: 7 * 24 * 3600, usedBy: ['sks-db'],
    doc: 'Longest time a key owner\'s signed deletion request (POST /pks/delete) may be valid, from issued to expires; '
      + 'a request is also refused once expired, and carried out only once.' },
  max_index_results: { type: 'int', default: 500, usedBy: ['sks-db'],
    doc: 'Most keys an index/vindex search returns before answering "too many results" (SKS: max_matches).' },
  max_get_results: { type: 'int', default: 500, usedBy: ['sks-db'],
    doc: 'Most keys one op=get answer may hold; more matches answer "too many results" (SKS applies its max_matches, '
      + '500, to op=get as well, so a word in a few hundred keys gets them all, from SKS and from us).' },
  vindex_max_signer_lookups: { type: 'int', default: 1000, usedBy: ['sks-db'],
    doc: 'Signers named per vindex page (SKS: max_uid_fetches); signers beyond show []. A key of many signatures has '
      + 'its page stored with its signers\' names in it (kept current as keys change), used while a page names no more '
      + 'signers than this; the others\' names are looked up.' },
  max_upload_packets: { type: 'int', default: 400_000, usedBy: ['sks-db'],
    doc: 'An upload (/pks/add) holding more OpenPGP packets than this is refused with 413 before it is parsed: a few '
      + 'MB of tiny packets would otherwise cost hundreds of MB of memory. A flooded key of 150,000 certifications fits.' },
  max_hashquery_keys: { type: 'int', default: 10000, usedBy: ['sks-db'],
    doc: 'Most digests one /pks/hashquery request may ask for.' },
  request_header_timeout_ms: { type: 'int', default: 10000, usedBy: ['sks-db'],
    doc: 'A client must send its whole request header within this time.' },
  request_timeout_ms: { type: 'int', default: 60000, usedBy: ['sks-db'],
    doc: 'A client must send its whole request (header and body) within this time.' },
  send_timeout_ms: { type: 'int', default: 60000, usedBy: ['sks-db'],
    doc: 'A connection whose client reads nothing of the answers waiting for it for this long is closed (pipelined '
      + 'requests never read would otherwise hold memory and a connection forever).' },
  keepalive_timeout_ms: { type: 'int', default: 5000, usedBy: ['sks-db'],
    doc: 'Idle keep-alive connections are closed after this time.' },
  lookup_cache_bytes: { type: 'int', default: 64 * 1024 * 1024, usedBy: ['sks-db'],
    doc: 'Memory per sks-db worker for ready-to-send lookup replies, kept by query string for the current database ' +
      'version (dropped whenever the database changes, so never stale): three quarters of this for small replies ' +
      '(up to 16 KiB: nearly every key of the public keydump, mr indexes, refusals), kept outside the JavaScript heap ' +
      'so the garbage collector never walks them (at most 1 GiB), and three quarters for larger ones; lookups answered by node\'s ' +
      'http server and the VKS API keep up to an eighth more per key. A reply is kept from the second time it is ' +
      'asked for, and once the cache is full only if asked for more often lately than the one it would replace, so ' +
      'lookups of keys nobody asks for again do not churn it. 0 disables.' },
  initial_stat: { type: 'bool', default: false, usedBy: ['sks-db'],
    doc: 'Compute the statistics page when sks-db starts (SKS option of the same name).' },
  stat_interval_s: { type: 'int', default: 3600, usedBy: ['sks-db'],
    doc: 'How often sks-db refreshes the statistics page.' },
  wkd_domains: { type: 'list', default: [], usedBy: ['sks-db'],
    doc: 'Domains for which sks-db answers Web Key Directory requests (space separated DNS names). At start sks-db '
      + 'gives each one a small index of the addresses at that domain, so a request that names only the hash finds '
      + 'every key of the domain, however many there are.' },
  metrics_port: { type: 'int', default: 0, usedBy: ['sks-db', 'sks-recon', 'sks-cron'],
    doc: 'Prometheus metrics port for sks-db (sks-recon uses metrics_port + 1, sks-cron metrics_port + 2); 0 disables.' },
  metrics_address: { type: 'string', default: '127.0.0.1', usedBy: ['sks-db', 'sks-recon'],
    doc: 'Address the metrics endpoints listen on.' },

  // --- key policy (CVE-2019-13050 defence), applied on every path: load, add, recon -------------------
  max_key_bytes: { type: 'int', default: 4 * 1024 * 1024, usedBy: ['all'],
    doc: 'A key larger than this after the per-user-ID cap is refused.' },
  max_input_key_bytes: { type: 'int', default: 64 * 1024 * 1024, usedBy: ['all'],
    doc: 'A single key larger than this as received is refused without being parsed further.' },
  max_packet_bytes: { type: 'int', default: 1024 * 1024, usedBy: ['all'],
    doc: 'Packets larger than this are dropped from a key (a primary key packet that large refuses the key).' },
  word_index_max_chars: { type: 'int', default: 8192, usedBy: ['all'],
    doc: 'Characters of a key\'s user IDs indexed for word search (the first this many); bounds the work and the '
      + 'index a key with a huge user ID costs. Words beyond are not found by search; e-mail addresses are indexed '
      + 'apart from words.' },
  third_party_certs: { type: 'string', default: 'newest', usedBy: ['all'],
    doc: 'Which certifications by other keys a user ID keeps. newest: all, up to max_certs_per_uid, newest by their '
      + 'claimed date (SKS-compatible digests). plausible: first drop every signature on a user ID whose two-byte '
      + 'hash tag does not match the data it signs or whose type does not belong there (as Hockeypuck does), '
      + 'self-signatures included, then cap. none: no third-party certifications at all (keys.openpgp.org\'s rule). '
      + 'attested: only those the key owner listed in the newest valid attestation signature on that user ID '
      + '(1PA3PC, as `sq key attest-certifications` makes them; keys.openpgp.org serves these), none without one. '
      + 'Peers reconcile only with servers that store keys the same way (see docs/OPERATIONS.md).' },
  verify_self_signatures: { type: 'bool', default: false, usedBy: ['all'],
    doc: 'Verify every signature that names the primary key as its issuer, with that key, and drop those that fail '
      + '(forged self-signatures: the flood cap never counts self-signatures). Costs a signature check per self-signature '
      + 'on every write; SKS keeps such signatures, so a key carrying them gets another digest than at SKS peers.' },
  max_certs_per_uid: { type: 'int', default: 1000, usedBy: ['all'],
    doc: 'Third-party certifications kept per user ID, newest first; self-signatures are always kept.' },
  drop_user_attributes: { type: 'bool', default: false, usedBy: ['all'],
    doc: 'Drop user attributes (photo IDs) from every key.' },

  // --- recon (sks-recon) -----------------------------------------------------------------------------
  recon_profiles: { type: 'list', default: ['sks'], usedBy: ['all'],
    doc: 'Recon profiles this server keeps a digest set for and can reconcile with: sks (SKS 1.1.6 and servers '
      + 'like it) and hockeypuck (Hockeypuck 2.2 and 2.3). Each key is stored once; every profile beyond sks adds a '
      + 'digest set and prefix tree of its own, written in the same transaction as the key. A membership line names '
      + 'its peer\'s profile as a third field (default: the first listed here). With hockeypuck listed, clients are '
      + 'served keys as Hockeypuck normalises them (every self-signature verified; see docs/OPERATIONS.md).' },
  recon_address: { type: 'list', default: ['127.0.0.1'], usedBy: ['sks-recon'],
    doc: 'Addresses sks-recon listens on; the first is also the source address of outbound sessions.' },
  recon_port: { type: 'int', default: 11370, usedBy: ['sks-recon'], doc: 'Recon port.' },
  recon_http_port: { type: 'int', default: 0, usedBy: ['sks-recon'],
    doc: 'HKP port announced to peers; 0 means hkp_port. Set it when nginx publishes HKP on another port.' },
  gossip_interval_s: { type: 'int', default: 60, usedBy: ['sks-recon'],
    doc: 'Seconds between outbound reconciliations (one random peer each time), as SKS gossip_interval.' },
  disable_gossip: { type: 'bool', default: false, usedBy: ['sks-recon'], doc: 'Only answer, never initiate.' },
  filters: { type: 'string', default: 'yminsky.dedup,yminsky.merge', usedBy: ['sks-recon'],
    doc: 'Filters the sks recon profile announces in its Config; a peer of that profile announcing another set is '
      + 'refused. (The hockeypuck profile announces exactly what Hockeypuck 2.2/2.3 do.)' },
  recon_config_timeout_s: { type: 'int', default: 45, usedBy: ['sks-recon'],
    doc: 'Seconds to wait for the peer\'s Config message.' },
  recon_read_timeout_s: { type: 'int', default: 60, usedBy: ['sks-recon'],
    doc: 'A session whose peer takes longer than this to send one message (another this long per MiB of a large '
      + 'message) is ended: trickling one byte at a time does not keep a session alive.' },
  recon_max_sessions: { type: 'int', default: 2, usedBy: ['sks-recon'],
    doc: 'Recon sessions that may run at once (incoming and outgoing together), at most one per peer: a slow or '
      + 'hostile member holds one slot while the others keep reconciling.' },
  recon_session_timeout_s: { type: 'int', default: 3600, usedBy: ['sks-recon'],
    doc: 'Longest a whole session may last.' },
  recon_max_message_bytes: { type: 'int', default: 8 * 1024 * 1024, usedBy: ['sks-recon'],
    doc: 'Recon messages longer than this end the session.' },
  max_recover: { type: 'int', default: 2000, usedBy: ['sks-recon'],
    doc: 'Most missing keys fetched after one session (SKS max_recover).' },
  http_fetch_size: { type: 'int', default: 100, usedBy: ['sks-recon'],
    doc: 'Digests per /pks/hashquery request when fetching from a peer.' },
  missing_keys_timeout_s: { type: 'int', default: 180, usedBy: ['sks-recon'],
    doc: 'Timeout of one /pks/hashquery fetch.' },
  refused_backoff_s: { type: 'int', default: 86400, usedBy: ['sks-recon'],
    doc: 'A digest a peer offers but our policy refused is not fetched again within this period.' },
  membership_reload_s: { type: 'int', default: 60, usedBy: ['sks-recon'],
    doc: 'How often the membership file is re-read.' },
  recon_max_fetch_bytes: { type: 'int', default: 256 * 1024 * 1024, usedBy: ['sks-recon'],
    doc: 'Largest /pks/hashquery answer accepted from a peer (one batch of http_fetch_size keys).' },

  // --- scheduled jobs (sks-cron); node-cron expressions --------------------------------------------------
  cron_log_rotate: { type: 'string', default: '0 0 * * *', usedBy: ['sks-cron'], doc: 'Rotate and compress logs.' },
  log_keep: { type: 'int', default: 14, usedBy: ['sks-cron'], doc: 'Rotated log files kept per service.' },
  cron_checkpoint: { type: 'string', default: '*/10 * * * *', usedBy: ['sks-cron'], doc: 'WAL checkpoint.' },
  cron_optimize: { type: 'string', default: '30 3 * * *', usedBy: ['sks-cron'], doc: 'PRAGMA optimize / ANALYZE.' },
  cron_vacuum: { type: 'string', default: '0 4 * * 0', usedBy: ['sks-cron'], doc: 'Incremental vacuum.' },
  cron_integrity: { type: 'string', default: '0 5 * * 0', usedBy: ['sks-cron'], doc: 'Integrity check.' },
  cron_quick_check: { type: 'string', default: '0 5 * * 1-6', usedBy: ['sks-cron'],
    doc: 'Quick integrity check (PRAGMA quick_check: no index contents) on the days the full check does not run.' },
  cron_stats: { type: 'string', default: '15 * * * *', usedBy: ['sks-cron'], doc: 'Regenerate statistics.' },
  cron_dump: { type: 'string', default: '0 2 * * 3', usedBy: ['sks-cron'], doc: 'Write a keydump into dump_dir.' },
  cron_backup: { type: 'string', default: '30 3 * * *', usedBy: ['sks-cron'],
    doc: 'Online backup of the database into backup_dir (a consistent copy taken while the services write).' },
  backup_dir: { type: 'string', default: 'backups', usedBy: ['sks-cron'],
    doc: 'Folder of the backup job\'s copies, relative to the base directory (restore one with sks-admin restore).' },
  backup_keep: { type: 'int', default: 3, usedBy: ['sks-cron'],
    doc: 'Backups kept; older ones are removed after a new one has passed its integrity check.' },
  cron_blocklist: { type: 'string', default: '*/5 * * * *', usedBy: ['sks-cron'],
    doc: 'Remove stored keys that are on the blocklist.' },
  cron_prune_changes: { type: 'string', default: '45 4 * * *', usedBy: ['sks-cron'],
    doc: 'Remove change-log entries older than changes_keep_days that every push target has acknowledged.' },
  changes_keep_days: { type: 'int', default: 30, usedBy: ['sks-cron'],
    doc: 'Days of change log kept (new and removed keys in order: the statistics and push sync read it); at least '
      + '8 (the week the statistics show, and a day); 0 keeps it forever.' },
  // --- push sync (sks-cron's push-sync job; docs/OPERATIONS.md "Push sync") ----------------------------------
  cron_push_sync: { type: 'string', default: '* * * * *', usedBy: ['sks-cron'],
    doc: 'Push new and changed keys to the sync targets, and read the blocklist feeds (the sync interval: every '
      + 'minute by default; six fields give seconds).' },
  sync_targets_file: { type: 'string', default: 'sync-targets', usedBy: ['sks-cron', 'sks-db'],
    doc: 'Push-sync targets, one URL a line (hkp://host[:port], hkps://host[:port], vks://host[:port], '
      + 'mailto:address) with an optional priority after it (lower first); relative to the base directory.' },
  mailsync_file: { type: 'string', default: 'mailsync', usedBy: ['sks-cron', 'sks-db'],
    doc: 'SKS\'s mailsync file (one address a line): each address is a mailto: target too, so an SKS setup keeps '
      + 'working.' },
  disable_mailsync: { type: 'bool', default: false, usedBy: ['sks-cron'],
    doc: 'SKS\'s switch: ignore the mailsync file (mailto: lines in sync-targets still count).' },
  sync_from: { type: 'string', default: '', usedBy: ['sks-cron', 'mail-in'],
    doc: 'Sender address of sync mail (SKS: from_addr, read as this when sync_from is not set). Mail targets need '
      + 'it.' },
  from_addr: { type: 'string', default: '', usedBy: ['sks-cron', 'mail-in'], doc: 'SKS compatibility alias of sync_from.' },
  smtp_host: { type: 'string', default: 'localhost', usedBy: ['sks-cron'],
    doc: 'SMTP server that sync mail goes out through (unless sendmail_cmd is set).' },
  smtp_port: { type: 'int', default: 25, usedBy: ['sks-cron'], doc: 'Its port.' },
  sendmail_cmd: { type: 'string', default: '', usedBy: ['sks-cron'],
    doc: 'As in SKS: a command that takes a whole message on standard input (e.g. "sendmail -t -oi"); when set, '
      + 'sync mail goes through it instead of SMTP.' },
  sync_batch_keys: { type: 'int', default: 200, usedBy: ['sks-cron'],
    doc: 'Changes read from the queue at a time per target (bounds memory whatever the backlog).' },
  sync_run_max_keys: { type: 'int', default: 20000, usedBy: ['sks-cron'],
    doc: 'Most keys one run of the push job sends to one target; the rest wait for the next run.' },
  sync_keys_per_request: { type: 'int', default: 20, usedBy: ['sks-cron'],
    doc: 'Keys per HKP POST /pks/add and per sync mail (vks:// takes one key per request). The cursor moves after '
      + 'each acknowledged request.' },
  sync_request_max_bytes: { type: 'int', default: 1024 * 1024, usedBy: ['sks-cron'],
    doc: 'Most bytes of armored keys in one request or mail (nginx\'s default client_max_body_size is 1m); a '
      + 'larger key goes alone.' },
  sync_timeout_s: { type: 'int', default: 30, usedBy: ['sks-cron'],
    doc: 'How long one push request or mail may take before it counts as failed.' },
  sync_retry_base_s: { type: 'int', default: 60, usedBy: ['sks-cron'],
    doc: 'Back-off after a target\'s first failure; it doubles with each further failure.' },
  sync_retry_max_s: { type: 'int', default: 3600, usedBy: ['sks-cron'],
    doc: 'Longest back-off between attempts at a failing target.' },
  sync_failover_after_s: { type: 'int', default: 3600, usedBy: ['sks-cron'],
    doc: 'A membership partner marked "failover" is pushed to over HKP once recon with it has failed for this '
      + 'long, from the change where it started failing, until a recon session succeeds again.' },
  mail_in_allowed: { type: 'list', default: [], usedBy: ['mail-in'],
    doc: 'Sender addresses whose ADD / incremental key mail sks-admin mail-in accepts (others are dropped and logged).' },
  mail_in_max_bytes: { type: 'int', default: 8 * 1024 * 1024, usedBy: ['mail-in'],
    doc: 'Largest sync mail sks-admin mail-in reads; a larger one is dropped and logged.' },
  blocklist_signing_key: { type: 'string', default: '', usedBy: ['sks-cron'],
    doc: 'File (relative to the base directory) with the operator\'s OpenPGP secret key, unprotected; when set, '
      + 'the push job signs each local blocklist entry with it into blocklist_signed_file.' },
  blocklist_signed_file: { type: 'string', default: 'blocklist.asc', usedBy: ['sks-cron', 'sks-db'],
    doc: 'Signed blocklist entries this server publishes at /pks/blocklist.asc.' },
  blocklist_feeds: { type: 'list', default: [], usedBy: ['sks-cron'],
    doc: 'URLs of other operators\' signed blocklists (their /pks/blocklist.asc), read by every push-sync run.' },
  blocklist_trusted_signers: { type: 'list', default: [], usedBy: ['sks-cron'],
    doc: 'Fingerprints of operator keys whose signed blocklist entries are applied (the key is refused and removed '
      + 'with the entry\'s reason); entries signed by anyone else are refused and logged. The signer\'s public key '
      + 'must be in our store or in blocklist_signers_file.' },
  blocklist_feed_max_bytes: { type: 'int', default: 8 * 1024 * 1024, usedBy: ['sks-cron'],
    doc: 'Largest blocklist feed read; a larger one is refused (logged) and read again next run.' },
  blocklist_signers_file: { type: 'string', default: 'blocklist-signers.asc', usedBy: ['sks-cron'],
    doc: 'Armored public keys of trusted blocklist signers, for signers whose key is not in the store.' },
  dump_dir: { type: 'string', default: 'dump', usedBy: ['sks-cron', 'load'],
    doc: 'Where keydumps are written, relative to the base directory.' },
  dump_keys_per_file: { type: 'int', default: 15000, usedBy: ['sks-cron', 'load'],
    doc: 'Keys per keydump file, as SKS writes them.' },
  load_batch_keys: { type: 'int', default: 10000, usedBy: ['load'],
    doc: 'Keys per transaction of a keydump load (sks-admin load). Larger batches write fewer pages per key; '
      + 'an interrupted load resumes after the last committed batch.' },
  load_batch_bytes: { type: 'int', default: 32 * 1024 * 1024, usedBy: ['load'],
    doc: 'Most bytes of key data in one load batch (bounds the loader\'s memory with large keys).' },
  load_cache_mib: { type: 'int', default: 128, usedBy: ['load'],
    doc: 'SQLite page cache of the loader, in MiB: keeps the indexes a load writes to in memory.' },
  load_synchronous_off: { type: 'bool', default: true, usedBy: ['load'],
    doc: 'A bulk load (sks-admin load into an empty store) commits its batches without waiting for the disk '
      + '(SQLite synchronous=OFF until the load ends, then everything is written out). A killed or crashed loader '
      + 'loses nothing it committed and resumes; an operating-system crash or power loss during the load may damage '
      + 'the database file: delete it and load again. While no other process has the database open, the load also '
      + 'commits through a rollback journal instead of the WAL and switches back at its end; a read-only process '
      + 'that opens the store after a killed load briefly opens it writable to roll that journal back. '
      + '"load_synchronous_off: false" syncs every batch through the WAL (slower).' },
  log_rotate_grace_ms: { type: 'int', default: 2000, usedBy: ['sks-cron'],
    doc: 'After renaming a log file away, wait this long (services switch to a new file at their next line) '
      + 'before compressing it; compression is repeated until the renamed file stops growing.' },
  analysis_limit: { type: 'int', default: 1000, usedBy: ['sks-cron'],
    doc: 'Rows ANALYZE samples per index when the optimize job refreshes the query planner statistics '
      + '(SQLite PRAGMA analysis_limit; 0 = read every row). Only row counts are kept: value samples would make '
      + 'SQLite re-plan every lookup statement on every call.' },
  vacuum_min_free_percent: { type: 'int', default: 10, usedBy: ['sks-cron'],
    doc: 'The vacuum job rebuilds a database without incremental auto-vacuum (once, switching it to incremental) '
      + 'only when at least this share of its pages is free.' },
  vacuum_full_max_bytes: { type: 'int', default: 512 * 1024 * 1024, usedBy: ['sks-cron'],
    doc: 'The one-time rebuild (VACUUM) that switches a database to incremental auto-vacuum holds the write lock '
      + 'while it runs; the vacuum job skips it, with a warning, for a database larger than this (writers would wait '
      + 'longer than db_busy_timeout_ms). Raise it for a run while the services are stopped.' },
  vacuum_step_pages: { type: 'int', default: 2000, usedBy: ['sks-cron'],
    doc: 'Free pages returned per incremental-vacuum transaction; small steps keep each write lock short so '
      + 'concurrent writers only wait, never fail.' },
  integrity_max_errors: { type: 'int', default: 100, usedBy: ['sks-cron'],
    doc: 'Most problems PRAGMA integrity_check reports (and the alarm log line lists).' },
  stats_file: { type: 'string', default: 'stats.json', usedBy: ['sks-cron'],
    doc: 'JSON statistics (keys, daily/hourly changes, database size) written by the stats job, relative to the '
      + 'base directory.' },
} satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

type ValueOf<S extends SettingSpec> =
  S['type'] extends 'int' ? number : S['type'] extends 'bool' ? boolean : S['type'] extends 'list' ? string[] : string;

export type Settings = { [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> };

export function defaultSettings(): Settings {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS)) {
    out[name] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return out as Settings;
}
