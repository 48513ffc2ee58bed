/** Small display helpers. */

/** "5 s ago", "3 min ago", "2 h ago", "4 d ago" (or "in ..." for the future). */
export function relativeTime(iso: string, now: number = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  const abs = Math.abs(s);
  const [n, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.floor(abs / 60), 'min'] : abs < 86400 ? [Math.floor(abs / 3600), 'h'] : [Math.floor(abs / 86400), 'd'];
  if (abs < 2) return 'just now';
  return s >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/** First 8 hex digits of a hash or uid, or a dash. */
export function shortHex(hex: string, digits = 8): string {
  return hex ? hex.slice(0, digits) : '—';
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** The agent's name for humans: service.name (and host.name) when it reports them. */
export function agentDisplayName(labels: Record<string, string>): string {
  const service = labels['service.name'];
  const host = labels['host.name'] ?? labels['host.id'];
  if (service && host) return `${service} @ ${host}`;
  return service ?? host ?? '';
}

/** Text to base64 (UTF-8), for the bytes fields of the JSON mapping. */
export function utf8ToBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Why the server did not send a configuration, for a "Not sent because" label:
 * the server's reasons for missing components start with "not sent: ", which
 * that label already says.
 */
export function notSentText(reason: string): string {
  return reason.replace(/^\s*not sent:\s*/i, '');
}

/**
 * A short form of an instance UID that still tells agents apart: its last 8
 * hex digits. The first ones of a UUIDv7 (what Collectors generate) are its
 * creation time, the same for every Collector started in the same minute.
 */
export function shortUid(uid: string): string {
  return uid ? `…${uid.slice(-8)}` : '—';
}

/**
 * What tells apart agents that report the same name (identical Collectors):
 * service.instance.id when the agent reports one, else its instance UID.
 */
export function agentInstanceId(agent: { instanceUid: string; labels: Record<string, string> }): { key: 'service.instance.id' | 'uid'; value: string } {
  const id = agent.labels['service.instance.id'];
  return id ? { key: 'service.instance.id', value: id } : { key: 'uid', value: agent.instanceUid };
}
