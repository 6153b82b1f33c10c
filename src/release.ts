// The release of this build, as package.json names it: /version and `ecadraft --version` report it.
import { readFileSync } from 'node:fs';

// src/ and dist/ both sit one level below the package root.
export const RELEASE = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
