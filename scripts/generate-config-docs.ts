// Rewrites the generated parts of docs/configuration.md and .env.example from src/config.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { DOC_END, DOC_START, renderEnvExample, renderVariableTable } from '../src/config-docs.ts';

const docPath = new URL('../docs/configuration.md', import.meta.url);
const doc = readFileSync(docPath, 'utf8');
const start = doc.indexOf(DOC_START);
const end = doc.indexOf(DOC_END);
if (start < 0 || end < 0) throw new Error('docs/configuration.md lacks the variables markers');
writeFileSync(docPath, doc.slice(0, start) + renderVariableTable() + doc.slice(end + DOC_END.length));
writeFileSync(new URL('../.env.example', import.meta.url), renderEnvExample());
console.log('docs/configuration.md and .env.example regenerated');
