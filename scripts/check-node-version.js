// Run first by `npm test`: on a Node.js older than package.json's engines.node, say so in one line
// instead of crashing somewhere inside vitest. Plain JavaScript, so that any old Node can run it.
import { readFileSync } from 'node:fs';

const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const [needMajor, needMinor = 0] = /(\d+)(?:\.(\d+))?/.exec(engines.node).slice(1).map((v) => Number(v ?? 0));
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  console.error(`hookline needs Node.js ${needMajor}.${needMinor} or newer (24 LTS recommended); this is ${process.version}.`);
  console.error('Use Node.js 24 (nvm install 24, or https://nodejs.org), then run npm test again.');
  process.exit(1);
}
