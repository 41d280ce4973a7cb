package postgres

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

//go:embed analytics_store_postgres.sql
var pgAnalyticsSQL string

var pgAN = pgQueries(pgParseQueries("analytics_store_postgres.sql", pgAnalyticsSQL))

var _ projections.AnalyticsStore = (*ReadModel)(nil)

// UpdateAnalytics runs fn in one transaction, under the analytics projector's lock.
func (s *ReadModel) UpdateAnalytics(ctx context.Context, fn func(tx projections.AnalyticsTx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, pgAN.get("an-lock")); err != nil {
			return err
		}
		x := &pgAnTx{ctx: ctx, tx: tx}
		if err := fn(x); err != nil {
			return err
		}
		return x.flush()
	})
	if err != nil {
		return fmt.Errorf("analytics: %w", pgRedact(err))
	}
	return nil
}

// AnalyticsDefinitions names the versions of the projection that have a checkpoint.
func (s *ReadModel) AnalyticsDefinitions(ctx context.Context) ([]string, error) {
	rows, _ := s.pool.Query(ctx, pgAN.get("an-definitions"), projections.AnalyticsPrefix)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("analytics: definitions: %w", pgRedact(err))
	}
	return out, nil
}

// ResetAnalytics drops the projection's rows and checkpoints in one transaction.
func (s *ReadModel) ResetAnalytics(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(pgAN.get("an-lock"))
		b.Queue(pgAN.get("an-reset"))
		b.Queue(pgAN.get("an-reset-checkpoints"), projections.AnalyticsPrefix)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("analytics: reset: %w", pgRedact(err))
	}
	return nil
}

// pgAnTx is one analytics transaction. Its writes are queued and sent together, in one round
// trip, before its next read and before it commits.
type pgAnTx struct {
	ctx     context.Context
	tx      pgx.Tx
	pending pgx.Batch
}

func (x *pgAnTx) queue(query string, args ...any) { x.pending.Queue(query, args...) }

func (x *pgAnTx) flush() error {
	if x.pending.Len() == 0 {
		return nil
	}
	b := x.pending
	x.pending = pgx.Batch{}
	return x.tx.SendBatch(x.ctx, &b).Close()
}

func (x *pgAnTx) Checkpoint(projection string) (eventlog.Cursor, error) {
	if err := x.flush(); err != nil {
		return nil, err
	}
	c, err := pgScanCheckpoint(x.tx.QueryRow(x.ctx, pgRM.get("rm-checkpoint"), projection))
	if err != nil {
		return nil, fmt.Errorf("analytics: checkpoint: %w", err)
	}
	return c, nil
}

func (x *pgAnTx) SetCheckpoint(projection string, c eventlog.Cursor) error {
	x.queue(pgRM.get("rm-set-checkpoint"), projection, c.String())
	return nil
}

func pgScanFact(r pgx.Row) (projections.ConversationFact, error) {
	var f projections.ConversationFact
	var kind, actor string
	err := r.Scan(&f.TeamID, &f.ID, &f.ThreadID, &f.ProspectID, &f.AccountLinkID, &f.Platform, &kind, &actor, &f.MemberID, &f.At, &f.Counted)
	f.Kind, f.Actor, f.At = projections.FactKind(kind), projections.ActorKind(actor), f.At.UTC()
	return f, err
}

func (x *pgAnTx) GetFacts(refs []projections.FactRef) (map[projections.FactRef]projections.ConversationFact, error) {
	out := make(map[projections.FactRef]projections.ConversationFact, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	if err := x.flush(); err != nil {
		return nil, err
	}
	teams, ids := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		teams[i], ids[i] = r.TeamID, r.ID
	}
	rows, _ := x.tx.Query(x.ctx, pgAN.get("an-get-facts"), teams, ids)
	facts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (projections.ConversationFact, error) { return pgScanFact(r) })
	if err != nil {
		return nil, fmt.Errorf("analytics: get facts: %w", err)
	}
	for _, f := range facts {
		out[projections.FactRef{TeamID: f.TeamID, ID: f.ID}] = f
	}
	return out, nil
}

func (x *pgAnTx) PutFacts(facts []projections.ConversationFact) error {
	for _, f := range facts {
		x.queue(pgAN.get("an-put-fact"), f.TeamID, f.ID, f.ThreadID, f.ProspectID, f.AccountLinkID, f.Platform,
			string(f.Kind), string(f.Actor), f.MemberID, f.At, f.Counted)
	}
	return nil
}

func (x *pgAnTx) Facts(teamID, threadID string) ([]projections.ConversationFact, error) {
	if err := x.flush(); err != nil {
		return nil, err
	}
	rows, _ := x.tx.Query(x.ctx, pgAN.get("an-facts"), teamID, threadID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (projections.ConversationFact, error) { return pgScanFact(r) })
}

// pgNullTime is NULL for the zero time.
func pgNullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (x *pgAnTx) DeleteTurns(teamID, threadID string) error {
	x.queue(pgAN.get("an-delete-turns"), teamID, threadID)
	x.queue(pgAN.get("an-delete-replies"), teamID, threadID)
	return nil
}

func (x *pgAnTx) PutTurns(teamID, threadID string, turns []projections.ConversationTurn, firstReply int) error {
	for k, t := range turns {
		x.queue(pgAN.get("an-put-turn"), teamID, threadID, t.Turn, t.ProspectID, t.AccountLinkID, t.Platform, t.StartedAt,
			pgNullTime(t.FirstResponseAt), t.FirstResponderMemberID, string(t.FirstResponderKind), pgNullTime(t.ResolvedAt),
			t.ResolvedByMemberID, t.Inbound, t.Outbound, t.Automated)
		from := 0
		if k == 0 {
			from = firstReply
		}
		for i, r := range t.Replies {
			x.queue(pgAN.get("an-put-reply"), teamID, threadID, t.Turn, from+i+1, r.InboundAt, r.RepliedAt, r.MemberID, string(r.Kind))
		}
	}
	return nil
}

func (x *pgAnTx) Tails(threads []projections.ThreadRef) (map[projections.ThreadRef]projections.ThreadTail, error) {
	out := make(map[projections.ThreadRef]projections.ThreadTail, len(threads))
	if len(threads) == 0 {
		return out, nil
	}
	if err := x.flush(); err != nil {
		return nil, err
	}
	teams, ids := make([]string, len(threads)), make([]string, len(threads))
	for i, r := range threads {
		teams[i], ids[i] = r.TeamID, r.ThreadID
	}
	rows, _ := x.tx.Query(x.ctx, pgAN.get("an-tails"), teams, ids)
	defer rows.Close()
	for rows.Next() {
		var ref projections.ThreadRef
		var tl projections.ThreadTail
		var kind string
		var run, started, first, resolved *time.Time
		var turn, inbound, outbound, automated *int
		var prospect, link, platform, firstMember, firstKind, resolvedBy *string
		if err := rows.Scan(&ref.TeamID, &ref.ThreadID, &tl.Last.At, &kind, &tl.Last.ID, &run,
			&turn, &prospect, &link, &platform, &started, &first, &firstMember, &firstKind, &resolved, &resolvedBy,
			&inbound, &outbound, &automated, &tl.Replies); err != nil {
			return nil, fmt.Errorf("analytics: tails: %w", err)
		}
		utc := func(t *time.Time) time.Time {
			if t == nil {
				return time.Time{}
			}
			return t.UTC()
		}
		tl.Last.At, tl.Last.Kind, tl.RunStart = tl.Last.At.UTC(), projections.FactKind(kind), utc(run)
		if turn != nil {
			tl.Turn = projections.ConversationTurn{TeamID: ref.TeamID, ThreadID: ref.ThreadID, Turn: *turn, ProspectID: *prospect,
				AccountLinkID: *link, Platform: *platform, StartedAt: utc(started), FirstResponseAt: utc(first),
				FirstResponderMemberID: *firstMember, FirstResponderKind: projections.ActorKind(*firstKind), ResolvedAt: utc(resolved),
				ResolvedByMemberID: *resolvedBy, Inbound: *inbound, Outbound: *outbound, Automated: *automated}
		}
		out[ref] = tl
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: tails: %w", err)
	}
	return out, nil
}

func (x *pgAnTx) PutTail(teamID, threadID string, tl projections.ThreadTail) error {
	x.queue(pgAN.get("an-put-tail"), teamID, threadID, tl.Last.At, string(tl.Last.Kind), tl.Last.ID, pgNullTime(tl.RunStart))
	return nil
}

// ConversationTurns lists a page of turns.
func (s *ReadModel) ConversationTurns(ctx context.Context, q projections.TurnQuery) ([]projections.ConversationTurn, error) {
	after := projections.TurnKey{StartedAt: q.From.Add(-time.Microsecond)}
	if q.After != nil {
		after = *q.After
	}
	var limit *int
	if q.Limit > 0 {
		limit = &q.Limit
	}
	rows, _ := s.pool.Query(ctx, pgAN.get("an-turns"), q.TeamID, q.From, q.To, after.StartedAt, after.ThreadID, after.Turn, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (projections.ConversationTurn, error) {
		var t projections.ConversationTurn
		var first, resolved *time.Time
		var kind string
		var inbound, replied []time.Time
		err := r.Scan(&t.TeamID, &t.ThreadID, &t.Turn, &t.ProspectID, &t.AccountLinkID, &t.Platform, &t.StartedAt, &first,
			&t.FirstResponderMemberID, &kind, &resolved, &t.ResolvedByMemberID, &t.Inbound, &t.Outbound, &t.Automated, &inbound, &replied)
		t.StartedAt, t.FirstResponderKind = t.StartedAt.UTC(), projections.ActorKind(kind)
		if first != nil {
			t.FirstResponseAt = first.UTC()
		}
		if resolved != nil {
			t.ResolvedAt = resolved.UTC()
		}
		for i := range min(len(inbound), len(replied)) {
			t.Replies = append(t.Replies, projections.Reply{InboundAt: inbound[i].UTC(), RepliedAt: replied[i].UTC()})
		}
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("analytics: turns: %w", pgRedact(err))
	}
	return out, nil
}

// ResponseTimes computes medians and 90th percentiles in SQL (percentile_cont), one query per
// figure, merged by group key.
func (s *ReadModel) ResponseTimes(ctx context.Context, q projections.ResponseTimesQuery) ([]projections.ResponseTimeGroup, error) {
	groups := map[string]*projections.ResponseTimeGroup{}
	var keys []string
	get := func(k string) *projections.ResponseTimeGroup {
		g := groups[k]
		if g == nil {
			g = &projections.ResponseTimeGroup{Key: k}
			groups[k] = g
			keys = append(keys, k)
		}
		return g
	}
	type figure struct {
		query, at, member string
		apply             func(g *projections.ResponseTimeGroup, st projections.Stats, counts [3]int64)
	}
	figures := []figure{
		{"an-first-responses", "t.started_at", "t.first_responder_member_id", func(g *projections.ResponseTimeGroup, st projections.Stats, c [3]int64) {
			g.FirstResponse = st
			g.Inbound, g.Outbound, g.AutomatedMessages = c[0], c[1], c[2]
		}},
		{"an-resolutions", "t.started_at", "t.resolved_by_member_id", func(g *projections.ResponseTimeGroup, st projections.Stats, _ [3]int64) { g.Resolution = st }},
		{"an-replies", "r.inbound_at", "r.member_id", func(g *projections.ResponseTimeGroup, st projections.Stats, _ [3]int64) { g.Reply = st }},
	}
	for _, f := range figures {
		key := "''"
		switch q.GroupBy {
		case projections.GroupDay:
			key = "to_char(" + f.at + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
		case projections.GroupMember:
			key = f.member
		case projections.GroupAccountLink:
			key = "t.account_link_id"
		case projections.GroupPlatform:
			key = "t.platform"
		}
		args := []any{q.TeamID, q.From, q.To}
		var filters strings.Builder
		for _, in := range []struct {
			col  string
			vals []string
		}{{"t.account_link_id", q.AccountLinkIDs}, {"t.platform", q.Platforms}, {f.member, q.MemberIDs}} {
			if len(in.vals) > 0 {
				args = append(args, in.vals)
				filters.WriteString(" AND " + in.col + " = ANY($" + strconv.Itoa(len(args)) + ")")
			}
		}
		query := strings.NewReplacer("{{key}}", key, "{{filters}}", filters.String()).Replace(pgAN.get(f.query))
		rows, _ := s.pool.Query(ctx, query, args...)
		var err error
		for rows.Next() {
			var k string
			var n int64
			var med, p90 *float64
			var counts [3]int64
			dest := []any{&k, &n, &med, &p90}
			if f.query == "an-first-responses" {
				dest = append(dest, &counts[0], &counts[1], &counts[2])
			}
			if err = rows.Scan(dest...); err != nil {
				break
			}
			st := projections.Stats{Count: n}
			if med != nil && p90 != nil && n > 0 {
				st.Median, st.P90 = projections.Seconds(*med), projections.Seconds(*p90)
			}
			f.apply(get(k), st, counts)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("analytics: response times: %w", pgRedact(err))
		}
	}
	out := make([]projections.ResponseTimeGroup, 0, len(keys))
	for _, k := range keys {
		out = append(out, *groups[k])
	}
	slices.SortFunc(out, func(a, b projections.ResponseTimeGroup) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
