// @sks/hkp: the HKP wire formats every process shares, parsed in one place with bounds checks.
export { HttpError } from './http-error.js';
export { queryParam, wantsMachineReadable, type Query } from './query.js';
export {
  parseLookup, classifySearch, gnupgIndexSearch, mrIndexRequest, MAX_SEARCH_CHARS, type LookupOp, type LookupRequest, type SearchTerm,
} from './lookup-request.js';
export {
  encodeHashqueryRequest, decodeHashqueryRequest, encodeHashqueryResponse, decodeHashqueryResponse,
  HashqueryFormatError, DIGEST_BYTES,
} from './hashquery.js';
export {
  statsDocument, statsPeers, statsSyncTargets, peerState, STATS_PENDING_CAP, VERSION, SOFTWARE, type StatsPeer, type StatsSyncTarget,
} from './stats-document.js';
