import { render } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Code } from "@connectrpc/connect";
import { connect, describe, isCode, loadSession, newKey, saveSession, type Api, type Protocol, type Session } from "./api";
import type { AccountLink, Member, Message, Prospect, Status, Tag, Thread } from "./gen/switchboard/v1/types_pb";
import { Direction, Platform, View } from "./gen/switchboard/v1/types_pb";
import type { SearchHit } from "./gen/switchboard/v1/search_pb";
import { PLATFORMS, VIEWS, clockTime, fullTime, hue, initials, platformInfo, relative, splitMarks, toDate } from "./util";

const TOKEN = "Switchboard-Consistency-Token";
const POLL_MS = 1000;
type Conn = "connecting" | "live" | "reconnecting" | "polling";

interface Filters {
  accountLinkId: string;
  platform: Platform;
  assignee: string; // "" anyone, "me", "none", or a member id
  tagId: string;
  statusId: string;
}
const NO_FILTERS: Filters = { accountLinkId: "", platform: Platform.UNSPECIFIED, assignee: "", tagId: "", statusId: "" };

function listRequest(view: View, f: Filters, me: string) {
  return {
    view,
    accountLinkId: f.accountLinkId,
    platform: f.platform,
    assigneeMemberId: f.assignee === "me" ? me : f.assignee === "none" ? "" : f.assignee,
    unassigned: f.assignee === "none",
    tagId: f.tagId,
    statusId: f.statusId,
  };
}

function byActivity(a: Thread, b: Thread): number {
  const x = toDate(a.lastMessageAt)?.getTime() ?? 0;
  const y = toDate(b.lastMessageAt)?.getTime() ?? 0;
  return y - x || (a.id < b.id ? -1 : 1);
}

function nameOf(p?: { displayName: string; username: string; platformId: string }): string {
  if (!p) return "Unknown";
  return p.displayName || (p.username ? `@${p.username}` : p.platformId || "Unknown");
}

function useNow(ms = 30000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

// ---------------------------------------------------------------- sign-in

function SignIn({ onSignIn }: { onSignIn: (s: Session) => void }) {
  const [key, setKey] = useState("");
  const [server, setServer] = useState("");
  const [protocol, setProtocol] = useState<Protocol>("grpc-web");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const s: Session = { key: key.trim(), server: server.trim(), protocol };
    if (!s.key) return setError("Enter an API key.");
    setBusy(true);
    setError("");
    try {
      await connect(s).team.listMembers({});
      saveSession(s);
      onSignIn(s);
    } catch (err) {
      setError(isCode(err, Code.Unauthenticated) ? "This key was refused: check it, or ask an admin for a new one." : describe("Sign-in failed", err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form class="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div class="brand big"><span class="logo" aria-hidden="true" />Switchboard</div>
        <h1 id="signin-title">Sign in to your inbox</h1>
        <p class="muted">Every conversation of your team, from every platform, in one place.</p>
        <label for="key">API key</label>
        <input id="key" name="key" type="password" autocomplete="current-password" placeholder="sb_…" value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)} autoFocus required />
        <p class="hint">After <code>make run</code>, the first key is in <code>data/admin.key</code>. It stays in this tab only.</p>
        <details class="advanced">
          <summary>Connection settings</summary>
          <label for="server">Server</label>
          <input id="server" type="url" placeholder={window.location.origin} value={server}
            onInput={(e) => setServer((e.target as HTMLInputElement).value)} />
          <label for="protocol">Protocol</label>
          <select id="protocol" value={protocol} onChange={(e) => setProtocol((e.target as HTMLSelectElement).value as Protocol)}>
            <option value="grpc-web">gRPC-web</option>
            <option value="connect">Connect</option>
          </select>
        </details>
        {error && <p class="form-error" role="alert">{error}</p>}
        <button class="btn primary wide" type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </main>
  );
}

// ---------------------------------------------------------------- small parts

function Avatar({ name, url, platform, size = 40 }: { name: string; url?: string; platform?: Platform; size?: number }) {
  const [broken, setBroken] = useState(false);
  const p = platform !== undefined ? platformInfo(platform) : null;
  return (
    <span class="avatar" style={{ width: size, height: size, "--h": hue(name) } as any} aria-hidden="true">
      {url && !broken ? <img src={url} alt="" onError={() => setBroken(true)} /> : <span class="initials">{initials(name)}</span>}
      {p && <span class="badge-platform" style={{ background: p.color }} title={p.name}>{p.short}</span>}
    </span>
  );
}

function TagChip({ tag, onRemove }: { tag: Tag; onRemove?: () => void }) {
  return (
    <span class="tag" style={{ "--c": tag.color || "#6366f1" } as any}>
      {tag.name}
      {onRemove && <button class="tag-x" onClick={onRemove} aria-label={`Remove tag ${tag.name}`}>×</button>}
    </span>
  );
}

function Marked({ text }: { text: string }) {
  return <>{splitMarks(text).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}</>;
}

// ---------------------------------------------------------------- app

function App() {
  const [session, setSession] = useState<Session | null>(loadSession());
  if (!session) return <SignIn onSignIn={setSession} />;
  return <Inbox key={session.key} api={connect(session)} onSignOut={() => { saveSession(null); setSession(null); }} />;
}

interface Team {
  links: AccountLink[];
  members: Member[];
  tags: Tag[];
  statuses: Status[];
  me: string;
}

function Inbox({ api, onSignOut }: { api: Api; onSignOut: () => void }) {
  const [team, setTeam] = useState<Team>({ links: [], members: [], tags: [], statuses: [], me: "" });
  const [view, setView] = useState<View>(View.INBOX);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [threads, setThreads] = useState<Thread[]>([]);
  const [nextToken, setNextToken] = useState("");
  const [loading, setLoading] = useState(true);
  const [counts, setCounts] = useState<Record<number, string>>({});
  const [selected, setSelected] = useState<string>("");
  const [opened, setOpened] = useState<Thread | null>(null); // the open thread, in the list or not
  const [focusMsg, setFocusMsg] = useState("");
  const [conn, setConn] = useState<Conn>("connecting");
  const [errors, setErrors] = useState<string[]>([]);
  const [showDetails, setShowDetails] = useState(false);
  const now = useNow();

  const fail = useCallback((what: string, err: unknown) => {
    const m = describe(what, err);
    setErrors((es) => (es.includes(m) ? es : [...es.slice(-2), m]));
  }, []);

  // The team: links (with capabilities), members, tags, statuses, and who "me" is.
  const loadTeam = useCallback(async () => {
    try {
      const [l, m, t, s, k] = await Promise.all([
        api.accounts.listAccountLinks({}), api.team.listMembers({}), api.team.listTags({}),
        api.team.listStatuses({}), api.team.listApiKeys({}),
      ]);
      const prefix = api.session.key.slice(0, 7);
      const mine = k.keys.filter((x) => x.prefix === prefix);
      setTeam({ links: l.accountLinks, members: m.members, tags: t.tags, statuses: s.statuses, me: mine.length === 1 ? mine[0].memberId : "" });
    } catch (err) {
      if (isCode(err, Code.Unauthenticated)) return onSignOut();
      fail("Loading the team", err);
    }
  }, [api]);
  useEffect(() => { loadTeam(); }, [loadTeam]);

  const req = useMemo(() => listRequest(view, filters, team.me), [view, filters, team.me]);
  const reqRef = useRef(req);
  reqRef.current = req;

  // Counts of every tab (with the current filters), up to 300.
  const countTimer = useRef<number>(0);
  const refreshCounts = useCallback(() => {
    clearTimeout(countTimer.current);
    countTimer.current = window.setTimeout(async () => {
      const out: Record<number, string> = {};
      try {
        await Promise.all(VIEWS.map(async (v) => {
          let n = 0, token = "", pages = 0;
          do {
            const r = await api.threads.listThreads({ ...reqRef.current, view: v.id, pageSize: 100, pageToken: token });
            n += r.threads.length;
            token = r.nextPageToken;
          } while (token && ++pages < 3);
          out[v.id] = token ? `${n}+` : String(n);
        }));
        setCounts(out);
      } catch { /* the list shows its own errors */ }
    }, 400);
  }, [api]);

  // The list: first page, then live changes (WatchThreads) or polling when the server has no streams.
  useEffect(() => {
    const ctl = new AbortController();
    let stopped = false;
    let position = "";
    let pollTimer = 0;
    setLoading(true);
    setConn("connecting");
    const apply = (fn: (ts: Thread[]) => Thread[]) => setThreads((ts) => fn(ts).sort(byActivity));
    const firstPage = async () => {
      const r = await api.threads.listThreads({ ...req, pageSize: 30 }, { signal: ctl.signal });
      position = r.position;
      setThreads(r.threads);
      setNextToken(r.nextPageToken);
      setLoading(false);
    };
    const poll = async () => {
      if (stopped) return;
      try {
        const r = await api.threads.listThreads({ ...req, pageSize: 30 }, { signal: ctl.signal });
        const top = new Map(r.threads.map((t) => [t.id, t]));
        const oldest = r.threads.length ? r.threads[r.threads.length - 1] : null;
        apply((ts) => {
          // Page one replaces what it covers; older threads loaded by scrolling stay.
          const rest = ts.filter((t) => !top.has(t.id) && (r.nextPageToken && oldest ? byActivity(oldest, t) < 0 : false));
          return [...r.threads, ...rest];
        });
        setConn("polling");
        refreshCounts();
      } catch (err) {
        if (!ctl.signal.aborted) setConn("reconnecting");
      }
      if (!stopped) pollTimer = window.setTimeout(poll, POLL_MS);
    };
    const watch = async () => {
      let delay = 500;
      while (!stopped) {
        try {
          for await (const ch of api.threads.watchThreads({ ...req, afterPosition: position }, { signal: ctl.signal })) {
            position = ch.position || position;
            delay = 500;
            setConn("live");
            if (ch.change.case === "upsert") {
              const t = ch.change.value;
              apply((ts) => [t, ...ts.filter((x) => x.id !== t.id)]);
              refreshCounts();
            } else if (ch.change.case === "removedThreadId") {
              const id = ch.change.value;
              apply((ts) => ts.filter((x) => x.id !== id));
              refreshCounts();
            }
          }
        } catch (err) {
          if (stopped || ctl.signal.aborted) return;
          if (isCode(err, Code.Unimplemented)) return poll();
          if (isCode(err, Code.OutOfRange)) {
            try { await firstPage(); } catch { /* retried below */ }
          }
        }
        if (stopped) return;
        setConn("reconnecting");
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10000);
      }
    };
    (async () => {
      try {
        await firstPage();
      } catch (err) {
        if (ctl.signal.aborted) return;
        if (isCode(err, Code.Unauthenticated)) return onSignOut();
        fail("Loading the conversations", err);
        setLoading(false);
      }
      refreshCounts();
      watch();
    })();
    return () => { stopped = true; ctl.abort(); clearTimeout(pollTimer); };
  }, [api, req]);

  const loadMore = useCallback(async () => {
    if (!nextToken) return;
    const token = nextToken;
    setNextToken("");
    try {
      const r = await api.threads.listThreads({ ...req, pageSize: 30, pageToken: token });
      setThreads((ts) => [...ts, ...r.threads.filter((t) => !ts.some((x) => x.id === t.id))]);
      setNextToken(r.nextPageToken);
    } catch (err) {
      setNextToken(token);
      fail("Loading more conversations", err);
    }
  }, [api, req, nextToken]);

  const upsertThread = useCallback((t: Thread) => {
    setThreads((ts) => ts.map((x) => (x.id === t.id ? t : x)));
    setOpened((o) => (o && o.id === t.id ? t : o));
  }, []);

  // j / k between threads, / to search.
  const listRef = useRef<HTMLUListElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = e.target as HTMLElement;
      if (e.ctrlKey || e.metaKey || e.altKey || /INPUT|TEXTAREA|SELECT/.test(el.tagName) || el.isContentEditable) return;
      if (e.key === "j" || e.key === "k") {
        e.preventDefault();
        const i = threads.findIndex((t) => t.id === selected);
        const j = e.key === "j" ? Math.min(threads.length - 1, i + 1) : Math.max(0, i - 1);
        const t = threads[j];
        if (t) {
          setSelected(t.id);
          setFocusMsg("");
          listRef.current?.querySelector<HTMLElement>(`[data-thread="${t.id}"]`)?.focus();
        }
      } else if (e.key === "/") {
        e.preventDefault();
        document.getElementById("search")?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [threads, selected]);

  // The open thread stays open when it leaves the list (done, filtered out).
  const current = threads.find((t) => t.id === selected) ?? (opened?.id === selected ? opened : undefined);
  useEffect(() => {
    const t = threads.find((x) => x.id === selected);
    if (t && t !== opened) setOpened(t);
  }, [threads, selected]);
  const link = team.links.find((l) => l.id === current?.accountLinkId);
  const member = (id: string) => team.members.find((m) => m.id === id);

  return (
    <div class={`shell ${selected ? "has-thread" : ""} ${showDetails ? "details-open" : ""}`}>
      <header class="topbar">
        <div class="brand"><span class="logo" aria-hidden="true" />Switchboard</div>
        <SearchBox api={api} onOpen={(h) => { setSelected(h.threadId); setFocusMsg(h.message?.id ?? ""); }} fail={fail} />
        <ConnPill conn={conn} />
        <button class="btn ghost" onClick={onSignOut}>Sign out</button>
      </header>
      {errors.length > 0 && (
        <div class="banner" role="alert">
          <span class="banner-icon" aria-hidden="true">!</span>
          <div class="banner-text">{errors.map((e) => <div key={e}>{e}</div>)}</div>
          <button class="btn ghost small" onClick={() => setErrors([])} aria-label="Dismiss errors">Dismiss</button>
        </div>
      )}
      <div class="panes">
        <section class="list-pane" aria-label="Conversations">
          <nav class="tabs" role="tablist" aria-label="Views">
            {VIEWS.map((v) => (
              <button role="tab" aria-selected={view === v.id} class={`tab ${view === v.id ? "active" : ""}`} onClick={() => setView(v.id)} key={v.id}>
                {v.name}<span class="count" data-testid={`count-${v.id}`}>{counts[v.id] ?? "·"}</span>
              </button>
            ))}
          </nav>
          <FilterBar team={team} filters={filters} setFilters={setFilters} />
          <ul class="threads" ref={listRef} aria-label="Conversation list" aria-busy={loading}>
            {threads.map((t) => (
              <ThreadRow key={t.id} t={t} now={now} active={t.id === selected} assignee={member(t.assigneeMemberId)} me={team.me}
                onOpen={() => { setSelected(t.id); setFocusMsg(""); }} />
            ))}
            {!loading && threads.length === 0 && (
              <li class="empty">
                <div class="empty-title">Nothing here</div>
                <div class="muted">{filters === NO_FILTERS ? "New conversations appear here as they arrive." : "No conversation matches these filters."}</div>
              </li>
            )}
            {loading && threads.length === 0 && [0, 1, 2, 3].map((i) => <li class="skeleton" key={i} aria-hidden="true" />)}
            {nextToken && <Sentinel onVisible={loadMore} />}
          </ul>
        </section>
        <section class="thread-pane" aria-label="Conversation">
          {current ? (
            <ThreadView key={current.id} api={api} thread={current} link={link} team={team} focusMsg={focusMsg} now={now}
              onThread={upsertThread} onBack={() => setSelected("")} fail={fail}
              onDetails={() => setShowDetails((v) => !v)} />
          ) : selected ? (
            <LoadThread api={api} id={selected} onLoaded={setOpened} fail={fail} />
          ) : (
            <div class="placeholder">
              <div class="placeholder-art" aria-hidden="true">
                <svg viewBox="0 0 24 24" width="44" height="44" fill="none" stroke="#4f46e5" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round">
                  <path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z" /><path d="M8.5 11h7M8.5 14h4" />
                </svg>
              </div>
              <h2>Pick a conversation</h2>
              <p class="muted">Use <kbd>j</kbd> and <kbd>k</kbd> to move between conversations, <kbd>/</kbd> to search.</p>
            </div>
          )}
        </section>
        {current && showDetails && (
          <ProspectPanel key={current.prospect?.id} api={api} thread={current} team={team} onThread={upsertThread} fail={fail}
            onClose={() => setShowDetails(false)} />
        )}
      </div>
    </div>
  );
}

// LoadThread fetches a thread the list does not hold (a search hit in another view).
function LoadThread({ api, id, onLoaded, fail }: { api: Api; id: string; onLoaded: (t: Thread) => void; fail: (w: string, e: unknown) => void }) {
  useEffect(() => {
    api.threads.getThread({ threadId: id }).then((r) => r.thread && onLoaded(r.thread)).catch((e) => fail("Opening the conversation", e));
  }, [id]);
  return <div class="placeholder"><p class="muted">Loading…</p></div>;
}

function ConnPill({ conn }: { conn: Conn }) {
  const label = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", polling: "polling" }[conn];
  const title = conn === "polling" ? `Live updates are not available from this server: the list refreshes every ${POLL_MS / 1000} s` : "";
  return <span class={`pill conn-${conn}`} role="status" aria-live="polite" title={title} data-testid="conn"><span class="dot" aria-hidden="true" />{label}</span>;
}

function Sentinel({ onVisible }: { onVisible: () => void }) {
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    const io = new IntersectionObserver((es) => es.some((e) => e.isIntersecting) && onVisible());
    if (ref.current) io.observe(ref.current);
    return () => io.disconnect();
  }, [onVisible]);
  return <li ref={ref} class="sentinel muted">Loading more…</li>;
}

function FilterBar({ team, filters, setFilters }: { team: Team; filters: Filters; setFilters: (f: Filters) => void }) {
  const set = (patch: Partial<Filters>) => setFilters({ ...filters, ...patch });
  const active = filters !== NO_FILTERS && JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  return (
    <div class="filters" role="group" aria-label="Filters">
      <label class="sr-only" for="f-link">Account</label>
      <select id="f-link" value={filters.accountLinkId} onChange={(e) => set({ accountLinkId: (e.target as HTMLSelectElement).value })}>
        <option value="">All accounts</option>
        {team.links.map((l) => <option value={l.id} key={l.id}>{l.displayName || l.username || l.platformId} · {platformInfo(l.platform).name}</option>)}
      </select>
      <label class="sr-only" for="f-platform">Platform</label>
      <select id="f-platform" value={String(filters.platform)} onChange={(e) => set({ platform: Number((e.target as HTMLSelectElement).value) })}>
        <option value="0">All platforms</option>
        {PLATFORMS.map((p) => <option value={String(p.id)} key={p.id}>{p.name}</option>)}
      </select>
      <label class="sr-only" for="f-assignee">Assignee</label>
      <select id="f-assignee" value={filters.assignee} onChange={(e) => set({ assignee: (e.target as HTMLSelectElement).value })}>
        <option value="">Anyone</option>
        {team.me && <option value="me">Mine</option>}
        <option value="none">Unassigned</option>
        {team.members.map((m) => <option value={m.id} key={m.id}>{m.name || m.email}</option>)}
      </select>
      <label class="sr-only" for="f-tag">Tag</label>
      <select id="f-tag" value={filters.tagId} onChange={(e) => set({ tagId: (e.target as HTMLSelectElement).value })}>
        <option value="">Any tag</option>
        {team.tags.map((t) => <option value={t.id} key={t.id}>{t.name}</option>)}
      </select>
      <label class="sr-only" for="f-status">Status</label>
      <select id="f-status" value={filters.statusId} onChange={(e) => set({ statusId: (e.target as HTMLSelectElement).value })}>
        <option value="">Any status</option>
        {team.statuses.map((s) => <option value={s.id} key={s.id}>{s.name}</option>)}
      </select>
      {active && <button class="btn ghost small" onClick={() => setFilters(NO_FILTERS)}>Clear</button>}
    </div>
  );
}

function ThreadRow({ t, now, active, assignee, me, onOpen }: { t: Thread; now: number; active: boolean; assignee?: Member; me: string; onOpen: () => void }) {
  const p = t.prospect;
  const name = nameOf(p);
  const when = toDate(t.lastMessageAt);
  return (
    <li>
      <button class={`row ${active ? "active" : ""} ${t.unreadCount > 0 ? "unread" : ""}`} onClick={onOpen} data-thread={t.id}
        aria-current={active ? "true" : undefined}
        aria-label={`${name}${t.unreadCount ? `, ${t.unreadCount} unread` : ""}: ${t.lastMessageText}`}>
        <Avatar name={name} url={p?.avatarUrl} platform={t.platform} />
        <span class="row-main">
          <span class="row-top">
            <span class="row-name">{name}</span>
            {p?.username && p.displayName && <span class="row-handle">@{p.username}</span>}
            <time class="row-time" dateTime={when?.toISOString()} title={fullTime(when)}>{relative(when, now)}</time>
          </span>
          <span class="row-preview">
            {t.lastMessageDirection === Direction.OUTBOUND && <span class="you">You: </span>}
            {t.lastMessageText || <em class="muted">Attachment</em>}
          </span>
          <span class="row-meta">
            {t.request && <span class="chip req">Request</span>}
            {t.done && <span class="chip done">Done</span>}
            {p?.status && <span class="chip status">{p.status.name}</span>}
            {p?.tags.map((tag) => <TagChip tag={tag} key={tag.id} />)}
            <span class="spacer" />
            {assignee && <span class="assignee" title={`Assigned to ${assignee.name || assignee.email}`}>{assignee.id === me ? "You" : initials(assignee.name || assignee.email)}</span>}
            {t.unreadCount > 0 && <span class="unread-badge" aria-hidden="true">{t.unreadCount}</span>}
          </span>
        </span>
      </button>
    </li>
  );
}

// ---------------------------------------------------------------- search

function SearchBox({ api, onOpen, fail }: { api: Api; onOpen: (h: SearchHit) => void; fail: (w: string, e: unknown) => void }) {
  const [q, setQ] = useState("");
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [total, setTotal] = useState(0n);
  const timer = useRef(0);
  const seq = useRef(0);
  const run = (query: string) => {
    clearTimeout(timer.current);
    if (!query.trim()) return setHits(null);
    timer.current = window.setTimeout(async () => {
      const n = ++seq.current;
      try {
        const r = await api.search.searchMessages({ query, sort: "newest", pageSize: 20 });
        if (n === seq.current) { setHits(r.hits); setTotal(r.total); }
      } catch (err) {
        fail("Search", err);
      }
    }, 250);
  };
  return (
    <div class="search" role="search">
      <label for="search" class="sr-only">Search messages</label>
      <input id="search" type="search" placeholder="Search messages  ( / )" value={q} autocomplete="off"
        onInput={(e) => { const v = (e.target as HTMLInputElement).value; setQ(v); run(v); }}
        onKeyDown={(e) => { if (e.key === "Escape") { setQ(""); setHits(null); } }} />
      {hits && (
        <div class="search-results" role="listbox" aria-label="Search results">
          <div class="search-head muted">{total === 0n ? "No message matches" : `${total} message${total === 1n ? "" : "s"}`}</div>
          {hits.map((h) => (
            <button role="option" class="hit" key={h.message?.id} onClick={() => { onOpen(h); setHits(null); }}>
              <Avatar name={nameOf(h.message?.sender)} url={h.message?.sender?.avatarUrl} platform={h.message?.platform} size={28} />
              <span class="hit-main">
                <span class="hit-top"><b>{h.message?.direction === Direction.OUTBOUND ? "You" : nameOf(h.message?.sender)}</b>
                  <span class="muted">{fullTime(toDate(h.message?.sentAt))}</span></span>
                <span class="hit-text">{h.highlights.length ? <Marked text={h.highlights[0]} /> : h.message?.text}</span>
              </span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

// ---------------------------------------------------------------- thread

function windowState(link: AccountLink | undefined, msgs: Message[], now: number): { blocked: string; note: string } {
  if (!link) return { blocked: "The account link of this conversation is not known.", note: "" };
  const pname = platformInfo(link.platform).name;
  if (!link.active) return { blocked: `The ${pname} account is not active${link.healthReason ? `: ${link.healthReason}` : ""}. Relink it to reply.`, note: "" };
  const caps = link.capabilities;
  if (!caps?.send) return { blocked: `Switchboard cannot send on ${pname} yet: replies are read-only here.`, note: "" };
  if (caps.window === "none" || !caps.window) return { blocked: "", note: "" };
  const lastIn = msgs.filter((m) => m.direction === Direction.INBOUND).map((m) => toDate(m.sentAt)?.getTime() ?? 0).reduce((a, b) => Math.max(a, b), 0);
  if (!lastIn) return { blocked: "", note: "" };
  const age = now - lastIn;
  const day = 24 * 3600 * 1000;
  if (caps.window === "whatsapp_24h" && age > day) return { blocked: "The 24-hour WhatsApp window is closed: only templates can be sent until the person writes again.", note: "" };
  if (caps.window === "meta_24h" && age > 7 * day) return { blocked: `The ${pname} messaging window is closed (last message from them more than 7 days ago).`, note: "" };
  if (caps.window === "meta_24h" && age > day) return { blocked: "", note: `More than 24 h since their last message: ${pname} accepts a reply only with human agent enabled.` };
  return { blocked: "", note: "" };
}

function ThreadView({ api, thread, link, team, focusMsg, now, onThread, onBack, onDetails, fail }: {
  api: Api; thread: Thread; link?: AccountLink; team: Team; focusMsg: string; now: number;
  onThread: (t: Thread) => void; onBack: () => void; onDetails: () => void; fail: (w: string, e: unknown) => void;
}) {
  const [msgs, setMsgs] = useState<Message[]>([]); // oldest first
  const [older, setOlder] = useState("");
  const [loaded, setLoaded] = useState(false);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  const merge = useCallback((incoming: Message[]) => {
    setMsgs((ms) => {
      const byId = new Map(ms.map((m) => [m.id, m]));
      for (const m of incoming) byId.set(m.id, m);
      return [...byId.values()].sort((a, b) => (toDate(a.sentAt)?.getTime() ?? 0) - (toDate(b.sentAt)?.getTime() ?? 0) || (a.id < b.id ? -1 : 1));
    });
  }, []);

  const refreshThread = useCallback(async (position?: string) => {
    try {
      const r = await api.threads.getThread({ threadId: thread.id }, position ? { headers: { [TOKEN]: position } } : {});
      if (r.thread) onThread(r.thread);
    } catch (err) { fail("Refreshing the conversation", err); }
  }, [api, thread.id]);

  useEffect(() => {
    const ctl = new AbortController();
    let stopped = false, position = "", pollTimer = 0;
    const load = async () => {
      let token = "", pages = 0, got: Message[] = [];
      do { // enough pages to reach a search hit
        const r = await api.threads.listMessages({ threadId: thread.id, pageSize: 50, pageToken: token }, { signal: ctl.signal });
        if (!position) position = r.position;
        got = got.concat(r.messages);
        token = r.nextPageToken;
      } while (token && focusMsg && !got.some((m) => m.id === focusMsg) && ++pages < 10);
      merge(got);
      setOlder(token);
      setLoaded(true);
    };
    const poll = async () => {
      if (stopped) return;
      try {
        const r = await api.threads.listMessages({ threadId: thread.id, pageSize: 50 }, { signal: ctl.signal });
        merge(r.messages);
      } catch { /* the list's pill shows the connection */ }
      if (!stopped) pollTimer = window.setTimeout(poll, POLL_MS);
    };
    const watch = async () => {
      let delay = 500;
      while (!stopped) {
        try {
          for await (const ch of api.threads.watchMessages({ threadId: thread.id, afterPosition: position }, { signal: ctl.signal })) {
            position = ch.position || position;
            delay = 500;
            if (ch.change.case === "upsert") merge([ch.change.value]);
            else if (ch.change.case === "thread") onThread(ch.change.value);
          }
        } catch (err) {
          if (stopped || ctl.signal.aborted) return;
          if (isCode(err, Code.Unimplemented)) return poll();
          if (isCode(err, Code.OutOfRange)) { position = ""; try { await load(); } catch { /* retried */ } }
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10000);
      }
    };
    load().then(watch, (err) => { if (!ctl.signal.aborted) fail("Loading the messages", err); });
    // Opening a conversation reads it, as in every inbox.
    if (thread.unreadCount > 0) {
      api.threads.markThreadRead({ threadId: thread.id }).then((r) => refreshThread(r.position), (e) => fail("Marking read", e));
    }
    return () => { stopped = true; ctl.abort(); clearTimeout(pollTimer); };
  }, [api, thread.id]);

  // Newest at the bottom: follow new messages while the reader is at the bottom.
  useEffect(() => {
    const el = scroller.current;
    if (!el || !loaded) return;
    if (focusMsg) {
      const target = el.querySelector<HTMLElement>(`[data-message="${focusMsg}"]`);
      if (target) { target.scrollIntoView({ block: "center" }); return; }
    }
    if (stick.current) el.scrollTop = el.scrollHeight;
  }, [msgs, loaded, focusMsg]);

  const loadOlder = async () => {
    try {
      const r = await api.threads.listMessages({ threadId: thread.id, pageSize: 50, pageToken: older });
      stick.current = false;
      merge(r.messages);
      setOlder(r.nextPageToken);
    } catch (err) { fail("Loading earlier messages", err); }
  };

  const act = async (what: string, fn: () => Promise<{ position: string }>) => {
    try {
      const r = await fn();
      await refreshThread(r.position);
    } catch (err) { fail(what, err); }
  };

  const p = thread.prospect;
  const name = nameOf(p);
  const pinfo = platformInfo(thread.platform);
  const byId = new Map(msgs.map((m) => [m.id, m]));
  const ws = windowState(link, msgs, now);
  let lastDay = "";

  return (
    <div class="thread">
      <header class="thread-head">
        <button class="btn ghost icon back" onClick={onBack} aria-label="Back to the list">‹</button>
        <Avatar name={name} url={p?.avatarUrl} platform={thread.platform} size={40} />
        <div class="thread-title">
          <h2>{name}</h2>
          <div class="muted small">{p?.username ? `@${p.username} · ` : ""}{pinfo.name}{link ? ` · via ${link.displayName || link.username || link.platformId}` : ""}</div>
        </div>
        <div class="thread-actions">
          <label class="sr-only" for="assign">Assignee</label>
          <select id="assign" value={thread.assigneeMemberId} onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            act("Assigning", () => v ? api.threads.assignThread({ threadId: thread.id, memberId: v, idempotencyKey: newKey() }) : api.threads.unassignThread({ threadId: thread.id }));
          }}>
            <option value="">Unassigned</option>
            {team.members.map((m) => <option value={m.id} key={m.id}>{m.id === team.me ? `Me (${m.name || m.email})` : m.name || m.email}</option>)}
          </select>
          {team.me && thread.assigneeMemberId !== team.me && (
            <button class="btn" onClick={() => act("Assigning", () => api.threads.assignThread({ threadId: thread.id, memberId: team.me, idempotencyKey: newKey() }))}>Assign to me</button>
          )}
          {thread.unreadCount > 0 && <button class="btn" onClick={() => act("Marking read", () => api.threads.markThreadRead({ threadId: thread.id }))}>Mark read</button>}
          {thread.done
            ? <button class="btn" onClick={() => act("Reopening", () => api.threads.reopenThread({ threadId: thread.id }))}>Reopen</button>
            : <button class="btn primary" onClick={() => act("Marking done", () => api.threads.markThreadDone({ threadId: thread.id }))}>✓ Done</button>}
          <button class="btn ghost" onClick={onDetails} aria-label="Contact details">Details</button>
        </div>
      </header>
      <div class="messages" ref={scroller} aria-live="polite" aria-label="Messages"
        onScroll={(e) => { const el = e.currentTarget as HTMLDivElement; stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80; }}>
        {older && <button class="btn ghost small older" onClick={loadOlder}>Load earlier messages</button>}
        {!loaded && <p class="muted center">Loading messages…</p>}
        {msgs.map((m) => {
          const d = toDate(m.sentAt);
          const day = d ? d.toDateString() : "";
          const sep = day !== lastDay ? (lastDay = day, <div class="day" key={`d${day}`}><span>{d?.toLocaleDateString(undefined, { weekday: "long", month: "long", day: "numeric" })}</span></div>) : null;
          return [sep, <Bubble key={m.id} m={m} quoted={m.replyToMessageId ? byId.get(m.replyToMessageId) : undefined} focused={m.id === focusMsg}
            canReply={!!link?.capabilities?.replyTo} onReply={() => setReplyTo(m)}
            onRetry={() => api.threads.retrySend({ messageId: m.id, idempotencyKey: newKey() }).then((r) => r.message && merge([r.message]), (e) => fail("Retrying the message", e))}
            onCancel={() => api.threads.cancelSend({ messageId: m.id }).catch((e) => fail("Cancelling the message", e))} />];
        })}
        {loaded && msgs.length === 0 && <p class="muted center">No messages yet.</p>}
      </div>
      <Composer api={api} thread={thread} link={link} blocked={ws.blocked} note={ws.note} replyTo={replyTo} clearReply={() => setReplyTo(null)}
        onSent={(m) => { stick.current = true; merge([m]); }} fail={fail} />
    </div>
  );
}

const FAILURE: Record<string, string> = {
  blocked: "the person blocked this account", window_closed: "the platform's messaging window is closed",
  rate_limited: "the platform's rate limit", auth: "the account's credentials were refused",
  recipient_not_found: "the recipient no longer exists", invalid_request: "the platform refused the message",
  unknown_outcome: "the platform did not confirm it (it may have arrived)", platform_error: "an error of the platform",
};

const STATUS_LABEL: Record<string, string> = { pending: "Sending…", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Failed", cancelled: "Cancelled" };

function Bubble({ m, quoted, focused, canReply, onReply, onRetry, onCancel }: {
  m: Message; quoted?: Message; focused: boolean; canReply: boolean; onReply: () => void; onRetry: () => void; onCancel: () => void;
}) {
  const out = m.direction === Direction.OUTBOUND;
  const d = toDate(m.sentAt);
  return (
    <div class={`msg ${out ? "out" : "in"} ${focused ? "focused" : ""}`} data-message={m.id} data-status={m.status}>
      <div class="bubble">
        {m.replyToMessageId && (
          <div class="quote">{quoted ? (quoted.deleted ? "Deleted message" : quoted.text || "Attachment") : "Earlier message"}</div>
        )}
        {m.deleted ? <p class="deleted">This message was deleted</p> : m.text && <p class="text">{m.text}</p>}
        {!m.deleted && m.attachments.map((a, i) =>
          a.type === "image" || a.type === "sticker" || a.mimeType.startsWith("image/")
            ? <a href={a.url} target="_blank" rel="noopener noreferrer" key={i}><img class="att-img" src={a.url} alt={a.name || "Image"} loading="lazy" /></a>
            : <a class="att-file" href={a.url} target="_blank" rel="noopener noreferrer" key={i}>📎 {a.name || a.type || "Attachment"}</a>)}
        <div class="meta">
          {m.edited && !m.deleted && <span class="edited">edited</span>}
          <time dateTime={d?.toISOString()} title={fullTime(d)}>{clockTime(d)}</time>
          {out && <span class={`status s-${m.status}`} data-testid="status">{STATUS_LABEL[m.status] ?? m.status}</span>}
        </div>
      </div>
      {out && m.status === "failed" && (
        <div class="failure" role="alert">
          Not delivered{m.failureReason ? `: ${FAILURE[m.failureReason] ?? m.failureReason.replace(/_/g, " ")}` : ""}.
          <button class="btn small" onClick={onRetry}>Retry</button>
        </div>
      )}
      {out && m.status === "pending" && <button class="linkish" onClick={onCancel}>Cancel</button>}
      {!out && canReply && !m.deleted && <button class="linkish reply-btn" onClick={onReply} aria-label="Reply to this message">Reply</button>}
    </div>
  );
}

function Composer({ api, thread, link, blocked, note, replyTo, clearReply, onSent, fail }: {
  api: Api; thread: Thread; link?: AccountLink; blocked: string; note: string; replyTo: Message | null; clearReply: () => void;
  onSent: (m: Message) => void; fail: (w: string, e: unknown) => void;
}) {
  const [text, setText] = useState("");
  const [draftKey, setDraftKey] = useState(newKey()); // one idempotency key per draft
  const [busy, setBusy] = useState(false);
  const limit = link?.capabilities?.textLimit ?? 0;
  const len = [...text].length;
  const over = limit > 0 && len > limit;
  const send = async () => {
    if (blocked || busy || !text.trim() || over) return;
    setBusy(true);
    try {
      const r = await api.threads.sendMessage({ threadId: thread.id, text, idempotencyKey: draftKey, replyToMessageId: replyTo?.id ?? "" });
      if (r.message) onSent(r.message);
      setText("");
      setDraftKey(newKey());
      clearReply();
    } catch (err) {
      fail("Sending the reply", err); // the draft and its key stay: sending again is safe
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      {replyTo && (
        <div class="replying">Replying to “{(replyTo.text || "attachment").slice(0, 80)}”<button type="button" class="linkish" onClick={clearReply}>Cancel</button></div>
      )}
      {blocked && <div class="blocked" role="note" id="composer-reason">{blocked}</div>}
      {!blocked && note && <div class="note" role="note">{note}</div>}
      <div class="composer-row">
        <label for="reply" class="sr-only">Reply</label>
        <textarea id="reply" rows={2} placeholder={blocked ? "Replies are unavailable" : `Reply on ${platformInfo(thread.platform).name}…  (Ctrl+Enter to send)`}
          value={text} disabled={!!blocked} aria-describedby={blocked ? "composer-reason" : undefined}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); } }} />
        <button class="btn primary" type="submit" disabled={!!blocked || busy || !text.trim() || over}>{busy ? "Sending…" : "Send"}</button>
      </div>
      {limit > 0 && len > limit * 0.8 && <div class={`counter ${over ? "over" : ""}`}>{len} / {limit}</div>}
    </form>
  );
}

// ---------------------------------------------------------------- prospect panel

function ProspectPanel({ api, thread, team, onThread, onClose, fail }: {
  api: Api; thread: Thread; team: Team; onThread: (t: Thread) => void; onClose: () => void; fail: (w: string, e: unknown) => void;
}) {
  const p = thread.prospect as Prospect;
  const [notes, setNotes] = useState(p?.notes ?? "");
  const [valuation, setValuation] = useState(String(p?.valuation ?? 0));
  const [fields, setFields] = useState<[string, string][]>(Object.entries(p?.customFields ?? {}));
  const [saved, setSaved] = useState("");
  if (!p) return null;
  const refresh = async (position: string) => {
    const r = await api.threads.getThread({ threadId: thread.id }, { headers: { [TOKEN]: position } });
    if (r.thread) onThread(r.thread);
  };
  const act = async (what: string, fn: () => Promise<{ position: string }>) => {
    try { await refresh((await fn()).position); } catch (err) { fail(what, err); }
  };
  const save = async (e: Event) => {
    e.preventDefault();
    const v = Number(valuation);
    if (!Number.isFinite(v) || v < 0) return fail("Saving the contact", new Error("the valuation must be a number, 0 or more"));
    const custom: Record<string, string> = {};
    for (const [k, val] of fields) if (k.trim()) custom[k.trim()] = val;
    await act("Saving the contact", () => api.prospects.updateProspectContext({ prospectId: p.id, notes, valuation: v, customFields: custom, idempotencyKey: newKey() }));
    setSaved("Saved");
    setTimeout(() => setSaved(""), 2000);
  };
  const untagged = team.tags.filter((t) => !p.tags.some((x) => x.id === t.id));
  const first = toDate(p.firstSeenAt);
  return (
    <aside class="details" aria-label="Contact details">
      <header class="details-head">
        <h2>Contact</h2>
        <button class="btn ghost icon" onClick={onClose} aria-label="Close details">×</button>
      </header>
      <div class="details-id">
        <Avatar name={nameOf(p)} url={p.avatarUrl} platform={p.platform} size={56} />
        <div><div class="big-name">{nameOf(p)}</div><div class="muted small">{p.username && `@${p.username} · `}{platformInfo(p.platform).name}</div>
          {first && <div class="muted small">First seen {fullTime(first)}</div>}</div>
      </div>
      <div class="field">
        <label for="p-status">Status</label>
        <select id="p-status" value={p.status?.id ?? ""} onChange={(e) => act("Setting the status", () => api.prospects.setProspectStatus({ prospectId: p.id, statusId: (e.target as HTMLSelectElement).value }))}>
          <option value="">No status</option>
          {team.statuses.map((s) => <option value={s.id} key={s.id}>{s.name}</option>)}
        </select>
      </div>
      <div class="field">
        <span class="label" id="tags-label">Tags</span>
        <div class="tags" aria-labelledby="tags-label">
          {p.tags.map((t) => <TagChip tag={t} key={t.id} onRemove={() => act("Removing the tag", () => api.prospects.untagProspect({ prospectId: p.id, tagId: t.id }))} />)}
          {p.tags.length === 0 && <span class="muted small">No tags</span>}
        </div>
        {untagged.length > 0 && (
          <>
            <label for="add-tag" class="sr-only">Add a tag</label>
            <select id="add-tag" value="" onChange={(e) => { const id = (e.target as HTMLSelectElement).value; if (id) act("Adding the tag", () => api.prospects.tagProspect({ prospectId: p.id, tagId: id })); }}>
              <option value="">+ Add a tag</option>
              {untagged.map((t) => <option value={t.id} key={t.id}>{t.name}</option>)}
            </select>
          </>
        )}
      </div>
      <form class="context" onSubmit={save}>
        <div class="field">
          <label for="p-notes">Notes</label>
          <textarea id="p-notes" rows={4} value={notes} onInput={(e) => setNotes((e.target as HTMLTextAreaElement).value)} placeholder="What the team should know" />
        </div>
        <div class="field">
          <label for="p-valuation">Valuation</label>
          <input id="p-valuation" type="number" min="0" step="any" value={valuation} onInput={(e) => setValuation((e.target as HTMLInputElement).value)} />
        </div>
        <fieldset class="field">
          <legend>Custom fields</legend>
          {fields.map(([k, v], i) => (
            <div class="kv" key={i}>
              <input aria-label="Field name" placeholder="name" value={k} onInput={(e) => setFields(fields.map((f, j) => (j === i ? [(e.target as HTMLInputElement).value, f[1]] : f)))} />
              <input aria-label="Field value" placeholder="value" value={v} onInput={(e) => setFields(fields.map((f, j) => (j === i ? [f[0], (e.target as HTMLInputElement).value] : f)))} />
              <button type="button" class="btn ghost icon" aria-label={`Remove field ${k}`} onClick={() => setFields(fields.filter((_, j) => j !== i))}>×</button>
            </div>
          ))}
          <button type="button" class="linkish" onClick={() => setFields([...fields, ["", ""]])}>+ Add a field</button>
        </fieldset>
        <div class="save-row"><button class="btn primary" type="submit">Save contact</button><span class="muted small" role="status">{saved}</span></div>
      </form>
    </aside>
  );
}

render(<App />, document.getElementById("app")!);
