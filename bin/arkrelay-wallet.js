#!/usr/bin/env node
// The `arkrelay-wallet` command (src/wallet-cli/). Node 24 runs the TypeScript sources directly;
// npm scripts and npx put the pinned Node 24 (devDependency `node`) first on PATH.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(
    `arkrelay-wallet: needs Node.js 24 or newer (this is ${process.version}); run it through npm run / npx`,
  );
  process.exit(1);
}
const { main } = await import('../src/wallet-cli/main.ts');
await main(process.argv, process.env);
