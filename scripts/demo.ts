// `npm run demo`: see src/demo/run.ts.
const { runDemo } = await import('../src/demo/run.ts');
process.exit(await runDemo());
