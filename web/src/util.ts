import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Platform, View } from "./gen/switchboard/v1/types_pb";

export const PLATFORMS: { id: Platform; name: string; short: string; color: string }[] = [
  { id: Platform.API, name: "API", short: "A", color: "#64748b" },
  { id: Platform.MESSENGER, name: "Messenger", short: "M", color: "#0866ff" },
  { id: Platform.INSTAGRAM, name: "Instagram", short: "I", color: "#d62976" },
  { id: Platform.WHATSAPP, name: "WhatsApp", short: "W", color: "#25d366" },
  { id: Platform.TELEGRAM, name: "Telegram", short: "T", color: "#229ed9" },
  { id: Platform.X, name: "X", short: "X", color: "#111827" },
  { id: Platform.BLUESKY, name: "Bluesky", short: "B", color: "#1185fe" },
  { id: Platform.REDDIT, name: "Reddit", short: "R", color: "#ff4500" },
];

export function platformInfo(p: Platform) {
  return PLATFORMS.find((x) => x.id === p) ?? { id: p, name: "Unknown", short: "?", color: "#94a3b8" };
}

export const VIEWS: { id: View; name: string }[] = [
  { id: View.INBOX, name: "Inbox" },
  { id: View.NO_REPLY, name: "No reply" },
  { id: View.REQUESTS, name: "Requests" },
  { id: View.ARCHIVED, name: "Archived" },
  { id: View.ALL, name: "All" },
];

export function toDate(t?: Timestamp): Date | null {
  return t ? timestampDate(t) : null;
}

export function relative(d: Date | null, now: number): string {
  if (!d) return "";
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 45) return "now";
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  if (s < 7 * 86400) return `${Math.round(s / 86400)}d`;
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function fullTime(d: Date | null): string {
  return d ? d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "";
}

export function clockTime(d: Date | null): string {
  return d ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }) : "";
}

export function initials(name: string): string {
  const parts = name.replace(/^@/, "").trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return "?";
  return (parts[0][0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

export function hue(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 360;
}

// splitMarks turns a search highlight ("… <mark>word</mark> …") into text and marked parts,
// without ever parsing it as HTML.
export function splitMarks(h: string): { text: string; mark: boolean }[] {
  const out: { text: string; mark: boolean }[] = [];
  const re = /<mark>([\s\S]*?)<\/mark>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(h))) {
    if (m.index > last) out.push({ text: unescape(h.slice(last, m.index)), mark: false });
    out.push({ text: unescape(m[1]), mark: true });
    last = m.index + m[0].length;
  }
  if (last < h.length) out.push({ text: unescape(h.slice(last)), mark: false });
  return out;
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}
