import type { FunctionProfile } from '../profiler/profile.ts';
import type { DetectContext } from './types.ts';

/** ", first seen after deploy of version N" when a novelty follows a deploy closely. */
export function afterDeployNote(p: FunctionProfile, t: number, ctx: DetectContext): string {
  const d = p.lastDeploy;
  if (!d || t - d.time > ctx.pack.deploy.noteAfterDeployHours * 3_600_000 || t < d.time) return '';
  return `; first seen after deploy of version ${d.version ?? '(unknown)'} ${Math.max(1, Math.round((t - d.time) / 60_000))} min earlier`;
}
