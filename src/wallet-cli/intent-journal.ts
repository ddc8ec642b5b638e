// Every intent the CLI signs is appended to a journal beside the key file (`<key>.intents.jsonl`,
// owner-only). The wallet answers a challenge only for an intent it approved; `watch` (or a
// later run) re-approves the journal's unexpired intents, so a leg signed by `arkrelay-wallet`
// and settled later — or a session resumed after the CLI was restarted — is still answered.
import { appendFileSync, chmodSync, existsSync, readFileSync } from 'node:fs';
import type { SignedIntent } from '../wallet/index.ts';

export function journalPath(keyFile: string): string {
  return `${keyFile}.intents.jsonl`;
}

export function recordIntent(keyFile: string, intent: SignedIntent): void {
  const path = journalPath(keyFile);
  const fresh = !existsSync(path);
  appendFileSync(path, `${JSON.stringify(intent.event)}\n`, { mode: 0o600 });
  if (fresh) chmodSync(path, 0o600);
}

/** The journal's intents that have not expired yet (unreadable lines are skipped). */
export function openIntents(keyFile: string, nowS = Math.floor(Date.now() / 1000)): SignedIntent[] {
  const path = journalPath(keyFile);
  if (!existsSync(path)) return [];
  const intents: SignedIntent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const event = JSON.parse(line) as SignedIntent['event'];
      const content = JSON.parse(event.content) as SignedIntent['content'];
      if (content.expires_at > nowS) intents.push({ event, content });
    } catch {
      // a torn last line after a crash: ignore it
    }
  }
  return intents;
}
