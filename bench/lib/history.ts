/** Reading whole conversations back through the client library (GetHistory pages, newest first). */
import type { ChatClient, ChatMessage } from '../../src/client/index.js';

export async function wholeConversation(client: ChatClient, peer: string): Promise<ChatMessage[]> {
  const pages: ChatMessage[][] = [];
  let beforeId = 0;
  for (;;) {
    const page = await client.getHistory(peer, { beforeId, limit: 200 });
    if (page.messages.length === 0) break;
    pages.push(page.messages);
    if (!page.hasMore) break;
    beforeId = Math.min(...page.messages.map((m) => m.id));
  }
  return pages
    .reverse()
    .flat()
    .sort((a, b) => a.id - b.id);
}

export interface ExactlyOnceReport {
  /** Acknowledged sends checked. */
  acked: number;
  /** Acknowledged sends missing from the history. */
  lost: number;
  /** Texts stored more than once. */
  doubled: number;
  /** Acknowledged sends stored under another id than the one acknowledged. */
  wrongId: number;
  /** Sends that failed for the user but were stored anyway (allowed: the user was told it may not have gone through). */
  failedButStored: number;
}

/**
 * Checks a sender's acknowledged texts against the stored conversation:
 * every acknowledged one stored exactly once with its acknowledged id, no
 * text twice.
 */
export function checkExactlyOnce(
  stored: ChatMessage[],
  sender: string,
  sent: { text: string; ok: boolean; id: number }[],
): ExactlyOnceReport {
  const byText = new Map<string, ChatMessage[]>();
  for (const m of stored) {
    if (m.sender !== sender) continue;
    const list = byText.get(m.text);
    if (list) list.push(m);
    else byText.set(m.text, [m]);
  }
  const report: ExactlyOnceReport = { acked: 0, lost: 0, doubled: 0, wrongId: 0, failedButStored: 0 };
  for (const s of sent) {
    const found = byText.get(s.text) ?? [];
    if (found.length > 1) report.doubled++;
    if (s.ok) {
      report.acked++;
      if (found.length === 0) report.lost++;
      else if (found[0]!.id !== s.id) report.wrongId++;
    } else if (found.length > 0) {
      report.failedButStored++;
    }
  }
  return report;
}

export function addReports(a: ExactlyOnceReport, b: ExactlyOnceReport): ExactlyOnceReport {
  return {
    acked: a.acked + b.acked,
    lost: a.lost + b.lost,
    doubled: a.doubled + b.doubled,
    wrongId: a.wrongId + b.wrongId,
    failedButStored: a.failedButStored + b.failedButStored,
  };
}
