/**
 * new-resource-access: after learning, an action the function never made, or a known action on a
 * new resource when the action is sensitive or mutating (a reader that starts deleting), and
 * bursts of AccessDenied (probing). Plain reads of new objects stay quiet: they are the churn of
 * normal work.
 *
 * Non-sensitive novelty waits until the function has shown its repertoire, as in new-egress-host:
 * the Good-Turing discovery rate of its actions (or action+resource pairs), weighted by whether
 * other functions make the action, must be at most `maxDiscoveryRate`. Sensitive actions alert
 * regardless.
 */
import { Severity } from '../core/alert.ts';
import type { ResourceAccessEvent } from '../core/events.ts';
import { afterDeployNote } from './deploy-note.ts';
import { surprising } from './new-egress-host.ts';
import { detectorParams, globMatch } from './pack.ts';
import type { Detector } from './types.ts';

const DEFAULTS = { accessDeniedBurst: 5, accessDeniedWindowMinutes: 10, maxDiscoveryRate: 0.02, unseenByPeersWeight: 0.2 };
const MUTATING = /^(Put|Delete|Create|Update|Attach|Detach|Remove|Set|Modify|Terminate|Run|Invoke|Publish|Send|Add|Tag|Untag|Disable|Stop|Restore|Copy|Write|Batch(Write|Delete))/;

function isSensitive(action: string, patterns: readonly string[]): boolean {
  return patterns.some((g) => globMatch(g, action));
}

export const newResourceAccess: Detector = {
  id: 'new-resource-access',
  handles: ['resource_access'],
  detect(ev0, obs, p, ctx) {
    const ev = ev0 as ResourceAccessEvent;
    if (!p.isTrusted(ev.time, ctx.settings)) return undefined;
    const k = detectorParams(ctx.pack, 'new-resource-access', DEFAULTS);
    const denied = ev.errorCode !== undefined && /AccessDenied|UnauthorizedOperation|Forbidden/i.test(ev.errorCode);
    if (denied && p.deniedCount >= k.accessDeniedBurst) {
      return {
        kind: 'new-resource-access',
        object: 'access-denied-burst',
        time: ev.time,
        start: p.deniedWindowStart,
        severity: Severity.High,
        analyticType: 2,
        title: 'Burst of AccessDenied (permission probing)',
        desc: `${p.fn.name}: ${p.deniedCount} AccessDenied errors within ${k.accessDeniedWindowMinutes} minutes, latest ${ev.action} on ${ev.resources[0] ?? '*'}.`,
        measures: [{ parameter: 'access_denied_count', observed: p.deniedCount, baseline: 0, type: 'Frequency', pattern: 'SURGE' }],
        evidences: [apiEvidence(ev)],
        extra: { action: ev.action, error_code: ev.errorCode },
      };
    }
    if (!obs.isNew) return undefined;
    const sensitive = isSensitive(ev.action, ctx.pack.sensitiveActions);
    const eventName = ev.action.slice(ev.action.indexOf(':') + 1);
    const mutating = ev.readOnly === false || MUTATING.test(eventName);
    const resource = ev.resources[0] ?? '*';
    // The fleet counts this function too once it knows the action.
    const peers = Math.max(0, (ctx.fleet?.actionUsers(ev.action) ?? 0) - (obs.isNewAction ? 0 : 1));
    const discovery = (obs.isNewAction ? p.actions : p.resources).discoveryRate();
    if (!sensitive && !surprising(discovery, peers, k)) return undefined;
    let what: string;
    let severity: number;
    if (obs.isNewAction) {
      what = `a new action ${ev.action} (on ${resource})`;
      severity = sensitive ? Severity.High : mutating ? Severity.Medium : Severity.Low;
    } else if (sensitive || mutating) {
      what = `${ev.action} on a resource it never touched: ${resource}`;
      severity = sensitive ? Severity.High : Severity.Medium;
    } else {
      return undefined;
    }
    const knownActions = [...p.actions.keys()].filter((a) => a !== ev.action).slice(0, 6);
    return {
      kind: 'new-resource-access',
      object: `${ev.action} ${resource}`,
      time: ev.time,
      start: ev.time,
      severity,
      analyticType: 2,
      title: sensitive ? 'New sensitive API access' : 'New resource access',
      desc:
        `${p.fn.name} made ${what}${ev.errorCode ? ` (${ev.errorCode})` : ''}` +
        `${sensitive ? ', a sensitive action' : mutating ? ', a mutating action' : ''}; ` +
        `its learned actions: ${knownActions.length ? knownActions.join(', ') : 'none'}` +
        afterDeployNote(p, ev.time, ctx) + '.',
      measures: [{ parameter: 'api_action_resource', observed: `${ev.action} ${resource}`, baseline: `${p.resources.size} known`, type: 'Frequency', pattern: 'UNSEEN' }],
      evidences: [apiEvidence(ev)],
      extra: { action: ev.action, resource, sensitive, mutating, source_ip: ev.sourceIp, version: p.version, peer_functions: peers, discovery_rate: +discovery.toFixed(4) },
    };
  },
};

function apiEvidence(ev: ResourceAccessEvent): Record<string, unknown> {
  return {
    api: { operation: ev.action.slice(ev.action.indexOf(':') + 1), service: { name: `${ev.service}.amazonaws.com` } },
    resources: ev.resources.map((uid) => ({ uid })),
    ...(ev.sourceIp ? { src_endpoint: { ip: ev.sourceIp } } : {}),
  };
}
