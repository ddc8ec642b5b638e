// Rewrites the generated parts of docs/configuration.md and .env.example from src/config.ts
// and src/config-aliases.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  ALIASES_END,
  ALIASES_START,
  DOC_END,
  DOC_START,
  renderAliasTable,
  renderEnvExample,
  renderVariableTable,
} from '../src/config-docs.ts';

const docPath = new URL('../docs/configuration.md', import.meta.url);

function replaceBetween(doc: string, startMarker: string, endMarker: string, text: string): string {
  const start = doc.indexOf(startMarker);
  const end = doc.indexOf(endMarker);
  if (start < 0 || end < 0) throw new Error(`docs/configuration.md lacks the markers ${startMarker}`);
  return doc.slice(0, start) + text + doc.slice(end + endMarker.length);
}

let doc = readFileSync(docPath, 'utf8');
doc = replaceBetween(doc, DOC_START, DOC_END, renderVariableTable());
doc = replaceBetween(doc, ALIASES_START, ALIASES_END, renderAliasTable());
writeFileSync(docPath, doc);
writeFileSync(new URL('../.env.example', import.meta.url), renderEnvExample());
console.log('docs/configuration.md and .env.example regenerated');
