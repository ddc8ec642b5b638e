#!/usr/bin/env node
// The `arkrelay` command. Node 24 runs the TypeScript sources directly (type stripping);
// npm scripts and npx put the pinned Node 24 (devDependency `node`) first on PATH.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `arkrelay: needs Node.js 24 or newer (this is ${process.version}); run it through npm run / npx`,
  );
  process.exit(1);
}
await import('../src/main.ts');
