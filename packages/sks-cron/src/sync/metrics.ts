// Push sync in Prometheus (sks-cron serves them on metrics_port + 2): per target, what waits, what was sent, and
// whether it is failing. Set after every run of the push job from the store's own rows, so a restart of sks-cron
// shows the same figures as before it.
import { promClient } from '@sks/service';
import type { PushTargetState } from '@sks/keystore';

const pending = new promClient.Gauge({
  name: 'sks_push_pending_keys', help: 'Changes queued for a push-sync target (counted up to 1,000,000).', labelNames: ['target'] as const,
});
const sent = new promClient.Gauge({
  name: 'sks_push_sent_keys', help: 'Keys a push-sync target has acknowledged, all time.', labelNames: ['target'] as const,
});
const refused = new promClient.Gauge({
  name: 'sks_push_refused_keys', help: 'Keys a push-sync target refused (not retried), all time.', labelNames: ['target'] as const,
});
const failures = new promClient.Gauge({
  name: 'sks_push_consecutive_failures', help: 'Failed attempts at a push-sync target since its last success.', labelNames: ['target'] as const,
});
const lastSuccess = new promClient.Gauge({
  name: 'sks_push_last_success_timestamp_seconds', help: 'When a push-sync target last acknowledged a request.', labelNames: ['target'] as const,
});

export function recordPushState(states: ReadonlyArray<PushTargetState & { pending: number }>): void {
  for (const g of [pending, sent, refused, failures, lastSuccess]) g.reset();
  for (const s of states) {
    const target = s.target;
    pending.set({ target }, s.pending);
    sent.set({ target }, s.sent);
    refused.set({ target }, s.refused);
    failures.set({ target }, s.failures);
    if (s.lastSuccess !== undefined) lastSuccess.set({ target }, s.lastSuccess);
  }
}
