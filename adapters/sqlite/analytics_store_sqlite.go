package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

//go:embed analytics_store_sqlite.sql
var analyticsSchema string

// analyticsTables are the projection's tables, for ResetAnalytics and Reset.
var analyticsTables = []string{"analytics_facts", "analytics_turns", "analytics_replies", "analytics_tails"}

var _ projections.AnalyticsStore = (*ReadModel)(nil)

// UpdateAnalytics runs fn in one write transaction on the read model's writer.
func (s *ReadModel) UpdateAnalytics(ctx context.Context, fn func(tx projections.AnalyticsTx) error) error {
	tx, err := s.c().w.BeginTx(ctx, nil)
	if err != nil {
		return s.observe(fmt.Errorf("analytics: begin: %w", err))
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(&anTx{ctx: ctx, q: &rmStmtCache{tx: tx, stmts: map[string]*sql.Stmt{}}}); err != nil {
		return s.observe(err)
	}
	if err := tx.Commit(); err != nil {
		return s.observe(fmt.Errorf("analytics: commit: %w", err))
	}
	committed = true
	return nil
}

// AnalyticsDefinitions names the versions of the projection that have a checkpoint.
func (s *ReadModel) AnalyticsDefinitions(ctx context.Context) ([]string, error) {
	rows, err := s.c().q.QueryContext(ctx, "SELECT projection FROM checkpoints WHERE substr(projection, 1, ?) = ?",
		len(projections.AnalyticsPrefix), projections.AnalyticsPrefix)
	if err != nil {
		return nil, fmt.Errorf("analytics: definitions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("analytics: definitions: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ResetAnalytics drops the projection's rows and checkpoints in one transaction.
func (s *ReadModel) ResetAnalytics(ctx context.Context) error {
	tx, err := s.c().w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("analytics: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range analyticsTables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return fmt.Errorf("analytics: reset %s: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM checkpoints WHERE substr(projection, 1, ?) = ?",
		len(projections.AnalyticsPrefix), projections.AnalyticsPrefix); err != nil {
		return fmt.Errorf("analytics: reset checkpoints: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("analytics: reset: %w", err)
	}
	return nil
}

// anTx is one analytics write transaction.
type anTx struct {
	ctx context.Context
	q   rmQuerier
}

func (x *anTx) exec(what, query string, args ...any) error {
	if _, err := x.q.ExecContext(x.ctx, query, args...); err != nil {
		return fmt.Errorf("analytics: %s: %w", what, err)
	}
	return nil
}

func (x *anTx) Checkpoint(projection string) (eventlog.Cursor, error) {
	return rmCheckpoint(x.ctx, x.q, projection)
}

func (x *anTx) SetCheckpoint(projection string, c eventlog.Cursor) error {
	return x.exec("set checkpoint", "INSERT INTO checkpoints (projection, cursor) VALUES (?, ?)"+
		" ON CONFLICT (projection) DO UPDATE SET cursor = excluded.cursor", projection, c.String())
}

const anFactColumns = "team_id, id, thread_id, prospect_id, account_link_id, platform, kind, actor, member_id, at, counted"

func anScanFact(r rmScanner) (projections.ConversationFact, error) {
	var f projections.ConversationFact
	var at int64
	var kind, actor string
	err := r.Scan(&f.TeamID, &f.ID, &f.ThreadID, &f.ProspectID, &f.AccountLinkID, &f.Platform, &kind, &actor, &f.MemberID, &at, &f.Counted)
	f.Kind, f.Actor, f.At = projections.FactKind(kind), projections.ActorKind(actor), rmFromTime(at)
	return f, err
}

func (x *anTx) GetFacts(refs []projections.FactRef) (map[projections.FactRef]projections.ConversationFact, error) {
	out := make(map[projections.FactRef]projections.ConversationFact, len(refs))
	for _, ref := range refs {
		if _, ok := out[ref]; ok {
			continue
		}
		f, err := anScanFact(x.q.QueryRowContext(x.ctx, "SELECT "+anFactColumns+" FROM analytics_facts WHERE team_id = ? AND id = ?", ref.TeamID, ref.ID))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("analytics: get fact: %w", err)
		}
		out[ref] = f
	}
	return out, nil
}

func (x *anTx) PutFacts(facts []projections.ConversationFact) error {
	for _, f := range facts {
		if err := x.exec("put fact", "INSERT OR REPLACE INTO analytics_facts ("+anFactColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			f.TeamID, f.ID, f.ThreadID, f.ProspectID, f.AccountLinkID, f.Platform, string(f.Kind), string(f.Actor), f.MemberID, rmTime(f.At), f.Counted); err != nil {
			return err
		}
	}
	return nil
}

func (x *anTx) Facts(teamID, threadID string) ([]projections.ConversationFact, error) {
	rows, err := x.q.QueryContext(x.ctx, "SELECT "+anFactColumns+" FROM analytics_facts WHERE team_id = ? AND thread_id = ?", teamID, threadID)
	if err != nil {
		return nil, fmt.Errorf("analytics: facts: %w", err)
	}
	defer rows.Close()
	var out []projections.ConversationFact
	for rows.Next() {
		f, err := anScanFact(rows)
		if err != nil {
			return nil, fmt.Errorf("analytics: facts: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func (x *anTx) DeleteTurns(teamID, threadID string) error {
	if err := x.exec("delete turns", "DELETE FROM analytics_turns WHERE team_id = ? AND thread_id = ?", teamID, threadID); err != nil {
		return err
	}
	return x.exec("delete replies", "DELETE FROM analytics_replies WHERE team_id = ? AND thread_id = ?", teamID, threadID)
}

func (x *anTx) PutTurns(teamID, threadID string, turns []projections.ConversationTurn, firstReply int) error {
	for k, t := range turns {
		if err := x.exec("put turn", "INSERT OR REPLACE INTO analytics_turns ("+anTurnColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			teamID, threadID, t.Turn, t.ProspectID, t.AccountLinkID, t.Platform, rmTime(t.StartedAt), rmTime(t.FirstResponseAt),
			t.FirstResponderMemberID, string(t.FirstResponderKind), rmTime(t.ResolvedAt), t.ResolvedByMemberID,
			t.Inbound, t.Outbound, t.Automated); err != nil {
			return err
		}
		from := 0
		if k == 0 {
			from = firstReply
		}
		for i, r := range t.Replies {
			if err := x.exec("put reply", "INSERT INTO analytics_replies (team_id, thread_id, turn, n, inbound_at, replied_at, member_id, kind)"+
				" VALUES (?, ?, ?, ?, ?, ?, ?, ?)", teamID, threadID, t.Turn, from+i+1, rmTime(r.InboundAt), rmTime(r.RepliedAt), r.MemberID, string(r.Kind)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *anTx) Tails(threads []projections.ThreadRef) (map[projections.ThreadRef]projections.ThreadTail, error) {
	out := make(map[projections.ThreadRef]projections.ThreadTail, len(threads))
	for _, r := range threads {
		tl, ok, err := x.tail(r.TeamID, r.ThreadID)
		if err != nil {
			return nil, err
		}
		if ok {
			out[r] = tl
		}
	}
	return out, nil
}

func (x *anTx) tail(teamID, threadID string) (projections.ThreadTail, bool, error) {
	var tl projections.ThreadTail
	var at, run int64
	var kind string
	err := x.q.QueryRowContext(x.ctx, "SELECT last_at, last_kind, last_id, run_start FROM analytics_tails WHERE team_id = ? AND thread_id = ?",
		teamID, threadID).Scan(&at, &kind, &tl.Last.ID, &run)
	if errors.Is(err, sql.ErrNoRows) {
		return tl, false, nil
	}
	if err != nil {
		return tl, false, fmt.Errorf("analytics: tail: %w", err)
	}
	tl.Last.At, tl.Last.Kind, tl.RunStart = rmFromTime(at), projections.FactKind(kind), rmFromTime(run)
	t := &tl.Turn
	var started, first, resolved int64
	err = x.q.QueryRowContext(x.ctx, "SELECT "+anTurnColumns+" FROM analytics_turns WHERE team_id = ? AND thread_id = ?"+
		" ORDER BY turn DESC LIMIT 1", teamID, threadID).Scan(&t.TeamID, &t.ThreadID, &t.Turn, &t.ProspectID, &t.AccountLinkID,
		&t.Platform, &started, &first, &t.FirstResponderMemberID, &kind, &resolved, &t.ResolvedByMemberID, &t.Inbound, &t.Outbound, &t.Automated)
	if errors.Is(err, sql.ErrNoRows) {
		return tl, true, nil // no turn yet
	}
	if err != nil {
		return tl, false, fmt.Errorf("analytics: tail turn: %w", err)
	}
	t.StartedAt, t.FirstResponseAt, t.ResolvedAt = rmFromTime(started), rmFromTime(first), rmFromTime(resolved)
	t.FirstResponderKind = projections.ActorKind(kind)
	if err := x.q.QueryRowContext(x.ctx, "SELECT coalesce(max(n), 0) FROM analytics_replies WHERE team_id = ? AND thread_id = ? AND turn = ?",
		teamID, threadID, t.Turn).Scan(&tl.Replies); err != nil {
		return tl, false, fmt.Errorf("analytics: tail replies: %w", err)
	}
	return tl, true, nil
}

func (x *anTx) PutTail(teamID, threadID string, tl projections.ThreadTail) error {
	return x.exec("put tail", "INSERT OR REPLACE INTO analytics_tails (team_id, thread_id, last_at, last_kind, last_id, run_start)"+
		" VALUES (?, ?, ?, ?, ?, ?)", teamID, threadID, rmTime(tl.Last.At), string(tl.Last.Kind), tl.Last.ID, rmTime(tl.RunStart))
}

const anTurnColumns = "team_id, thread_id, turn, prospect_id, account_link_id, platform, started_at, first_response_at," +
	" first_responder_member_id, first_responder_kind, resolved_at, resolved_by_member_id, inbound, outbound, automated"

// anTurns loads the turns matching where (on analytics_turns t) with their replies, in the
// turns' order.
func (s *ReadModel) anTurns(ctx context.Context, where string, limit int, args ...any) ([]projections.ConversationTurn, error) {
	q := s.c().q
	query := "SELECT t." + strings.ReplaceAll(anTurnColumns, ", ", ", t.") + " FROM analytics_turns t WHERE " + where +
		" ORDER BY t.started_at, t.thread_id, t.turn"
	if limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: turns: %w", err)
	}
	defer rows.Close()
	var out []projections.ConversationTurn
	type key struct {
		thread string
		turn   int
	}
	idx := map[key]int{}
	for rows.Next() {
		var t projections.ConversationTurn
		var started, first, resolved int64
		var kind string
		if err := rows.Scan(&t.TeamID, &t.ThreadID, &t.Turn, &t.ProspectID, &t.AccountLinkID, &t.Platform, &started, &first,
			&t.FirstResponderMemberID, &kind, &resolved, &t.ResolvedByMemberID, &t.Inbound, &t.Outbound, &t.Automated); err != nil {
			return nil, fmt.Errorf("analytics: turns: %w", err)
		}
		t.StartedAt, t.FirstResponseAt, t.ResolvedAt = rmFromTime(started), rmFromTime(first), rmFromTime(resolved)
		t.FirstResponderKind = projections.ActorKind(kind)
		idx[key{t.ThreadID, t.Turn}] = len(out)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: turns: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	// The replies of the turns just read, by (thread, turn) in one query per distinct thread
	// page: the same where on the turns, joined.
	rrows, err := q.QueryContext(ctx, "SELECT r.thread_id, r.turn, r.inbound_at, r.replied_at, r.member_id, r.kind"+
		" FROM analytics_replies r JOIN analytics_turns t ON t.team_id = r.team_id AND t.thread_id = r.thread_id AND t.turn = r.turn"+
		" WHERE "+where+" ORDER BY r.thread_id, r.turn, r.n", args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: replies: %w", err)
	}
	defer rrows.Close()
	for rrows.Next() {
		var k key
		var in, at int64
		var r projections.Reply
		var kind string
		if err := rrows.Scan(&k.thread, &k.turn, &in, &at, &r.MemberID, &kind); err != nil {
			return nil, fmt.Errorf("analytics: replies: %w", err)
		}
		r.InboundAt, r.RepliedAt, r.Kind = rmFromTime(in), rmFromTime(at), projections.ActorKind(kind)
		if i, ok := idx[k]; ok {
			out[i].Replies = append(out[i].Replies, r)
		}
	}
	return out, rrows.Err()
}

// ConversationTurns lists a page of turns.
func (s *ReadModel) ConversationTurns(ctx context.Context, q projections.TurnQuery) ([]projections.ConversationTurn, error) {
	where := "t.team_id = ? AND t.started_at >= ? AND t.started_at < ?"
	args := []any{q.TeamID, rmTime(q.From), rmTime(q.To)}
	if a := q.After; a != nil {
		where += " AND (t.started_at > ? OR t.started_at = ? AND (t.thread_id > ? OR t.thread_id = ? AND t.turn > ?))"
		args = append(args, rmTime(a.StartedAt), rmTime(a.StartedAt), a.ThreadID, a.ThreadID, a.Turn)
	}
	return s.anTurns(ctx, where, q.Limit, args...)
}

// ResponseTimes aggregates in Go over the turns of the range and those holding replies in it.
func (s *ReadModel) ResponseTimes(ctx context.Context, q projections.ResponseTimesQuery) ([]projections.ResponseTimeGroup, error) {
	from, to := rmTime(q.From), rmTime(q.To)
	where := "t.team_id = ? AND (t.started_at >= ? AND t.started_at < ? OR EXISTS (SELECT 1 FROM analytics_replies x" +
		" WHERE x.team_id = t.team_id AND x.thread_id = t.thread_id AND x.turn = t.turn AND x.inbound_at >= ? AND x.inbound_at < ?))"
	args := []any{q.TeamID, from, to, from, to}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where += " AND " + col + " IN (?" + strings.Repeat(", ?", len(vals)-1) + ")"
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("t.account_link_id", q.AccountLinkIDs)
	in("t.platform", q.Platforms)
	turns, err := s.anTurns(ctx, where, 0, args...)
	if err != nil {
		return nil, err
	}
	return projections.AggregateTurns(q, turns), nil
}
