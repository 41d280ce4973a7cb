// The API clients: gRPC-web by default (Connect selectable at sign-in), the key in the
// Authorization header, kept in sessionStorage only (never in a URL).
import { createClient, type Client, type Interceptor, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { ThreadService } from "./gen/switchboard/v1/thread_pb";
import { AccountService } from "./gen/switchboard/v1/account_pb";
import { TeamService } from "./gen/switchboard/v1/team_pb";
import { ProspectService } from "./gen/switchboard/v1/prospect_pb";
import { SearchService } from "./gen/switchboard/v1/search_pb";

export type Protocol = "grpc-web" | "connect";

export interface Session {
  key: string;
  server: string; // the API's origin; empty: the page's own
  protocol: Protocol;
}

const STORE = "switchboard.session";

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORE);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null) {
  if (s) sessionStorage.setItem(STORE, JSON.stringify(s));
  else sessionStorage.removeItem(STORE);
}

export interface Api {
  threads: Client<typeof ThreadService>;
  accounts: Client<typeof AccountService>;
  team: Client<typeof TeamService>;
  prospects: Client<typeof ProspectService>;
  search: Client<typeof SearchService>;
  session: Session;
}

export function connect(session: Session): Api {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("Authorization", `Bearer ${session.key}`);
    return next(req);
  };
  const baseUrl = (session.server || window.location.origin).replace(/\/+$/, "");
  const opts = { baseUrl, interceptors: [auth] };
  const transport = session.protocol === "connect" ? createConnectTransport({ ...opts, useBinaryFormat: true }) : createGrpcWebTransport(opts);
  return {
    threads: createClient(ThreadService, transport),
    accounts: createClient(AccountService, transport),
    team: createClient(TeamService, transport),
    prospects: createClient(ProspectService, transport),
    search: createClient(SearchService, transport),
    session,
  };
}

// describe turns any failure into words for the error banner.
export function describe(what: string, err: unknown): string {
  const e = ConnectError.from(err);
  const code = Code[e.code] ?? "unknown";
  const msg = e.rawMessage || e.message;
  if (e.code === Code.Unavailable && /fetch|network/i.test(msg)) {
    return `${what}: the server cannot be reached (${msg})`;
  }
  return `${what}: ${msg} (${code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()})`;
}

export function isCode(err: unknown, code: Code): boolean {
  return ConnectError.from(err).code === code;
}

export function newKey(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
