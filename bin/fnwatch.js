#!/usr/bin/env node
// Entry point for `npx fnwatch`: registers tsx so the TypeScript sources run as they are, no build step.
import { register } from 'tsx/esm/api';

// fnwatch targets Node 20 and pins its AWS SDK versions in package-lock.json; the SDK's notice that
// releases after January 2027 need Node 22 would otherwise open every command's output (README: Runtime).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../src/cli/main.ts');
