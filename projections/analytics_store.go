package projections

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// AnalyticsStore is the conversation-metrics port: facts and turns in the read model's
// database, with the projection's own checkpoint.
type AnalyticsStore interface {
	// UpdateAnalytics runs fn in one transaction: facts, turns and checkpoint commit together.
	UpdateAnalytics(ctx context.Context, fn func(tx AnalyticsTx) error) error
	// Checkpoint returns the cursor a projection has applied.
	Checkpoint(ctx context.Context, projection string) (eventlog.Cursor, error)
	// AnalyticsDefinitions names the versions of the projection that have a checkpoint.
	AnalyticsDefinitions(ctx context.Context) ([]string, error)
	// ResetAnalytics drops every fact, turn and checkpoint of the projection (all versions).
	ResetAnalytics(ctx context.Context) error
	AnalyticsReader
}

// AnalyticsTx is what the analytics projector reads and writes inside one UpdateAnalytics.
type AnalyticsTx interface {
	Checkpoint(projection string) (eventlog.Cursor, error)
	SetCheckpoint(projection string, c eventlog.Cursor) error
	// GetFacts returns the facts of refs that exist.
	GetFacts(refs []FactRef) (map[FactRef]ConversationFact, error)
	// PutFacts upserts facts by (team, id).
	PutFacts(facts []ConversationFact) error
	// Facts returns every fact of a thread, in any order.
	Facts(teamID, threadID string) ([]ConversationFact, error)
	// DeleteTurns drops a thread's turns and their replies (before they are recomputed).
	DeleteTurns(teamID, threadID string) error
	// PutTurns upserts turns of a thread with their replies: those of turns[0] numbered from
	// firstReply+1 (the replies it already has are kept), those of the others from 1.
	PutTurns(teamID, threadID string, turns []ConversationTurn, firstReply int) error
	// Tails returns where each thread's turns stand: its last fact's key and run start as last
	// put, its last turn (without replies) and how many replies that turn has. A thread with no
	// tail put is missing (the projector then reads all of its facts).
	Tails(threads []ThreadRef) (map[ThreadRef]ThreadTail, error)
	// PutTail keeps a thread's last fact key and run start (tail.Turn and Replies are not kept:
	// the turns are).
	PutTail(teamID, threadID string, tail ThreadTail) error
}

// FactRef names a fact: its team and id.
type FactRef struct{ TeamID, ID string }

// ThreadRef names a thread: its team and id.
type ThreadRef struct{ TeamID, ThreadID string }

// AnalyticsReader answers the analytics queries.
type AnalyticsReader interface {
	// ConversationTurns lists the turns started in [From, To), by (started_at, thread, turn),
	// after q.After.
	ConversationTurns(ctx context.Context, q TurnQuery) ([]ConversationTurn, error)
	// ResponseTimes aggregates q's figures per group, by key.
	ResponseTimes(ctx context.Context, q ResponseTimesQuery) ([]ResponseTimeGroup, error)
}

// TurnQuery pages through a team's turns.
type TurnQuery struct {
	TeamID   string
	From, To time.Time
	After    *TurnKey
	Limit    int
}

// TurnKey is a keyset-paging position in the turns' order.
type TurnKey struct {
	StartedAt time.Time
	ThreadID  string
	Turn      int
}

// GroupBy is how response times are grouped.
type GroupBy string

const (
	GroupNone        GroupBy = ""
	GroupDay         GroupBy = "day"
	GroupMember      GroupBy = "member"
	GroupAccountLink GroupBy = "account_link"
	GroupPlatform    GroupBy = "platform"
)

// ResponseTimesQuery selects and groups the figures of a team. Turns (first response,
// resolution, counts) are in range by their start, replies by their inbound message. The member
// of a figure (of GroupMember and MemberIDs) is the first responder for first responses and
// counts, the replier for replies, whoever marked the thread done for resolutions.
type ResponseTimesQuery struct {
	TeamID         string
	From, To       time.Time
	GroupBy        GroupBy
	AccountLinkIDs []string
	Platforms      []string
	MemberIDs      []string
}

// Stats summarises durations.
type Stats struct {
	Count       int64
	Median, P90 time.Duration
}

// ResponseTimeGroup is the figures of one group.
type ResponseTimeGroup struct {
	Key                                  string
	FirstResponse, Reply, Resolution     Stats
	Inbound, Outbound, AutomatedMessages int64
}

// DayKey is the GroupDay key of a time: its UTC date.
func DayKey(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// PercentileCont is PostgreSQL's percentile_cont over sorted values: linear interpolation
// between the two values around position p*(n-1).
func PercentileCont(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := p * float64(len(sorted)-1)
	lo := math.Floor(pos)
	hi := math.Ceil(pos)
	return sorted[int(lo)] + (sorted[int(hi)]-sorted[int(lo)])*(pos-lo)
}

// StatsOf summarises durations given in seconds.
func StatsOf(secs []float64) Stats {
	if len(secs) == 0 {
		return Stats{}
	}
	slices.Sort(secs)
	return Stats{Count: int64(len(secs)), Median: Seconds(PercentileCont(secs, 0.5)), P90: Seconds(PercentileCont(secs, 0.9))}
}

// Seconds converts seconds to a duration, rounded to the microsecond (what both engines keep).
func Seconds(s float64) time.Duration {
	return time.Duration(math.Round(s*1e6)) * time.Microsecond
}

// AggregateTurns computes q's groups in Go from the turns of its range (those started in it)
// and the turns holding replies in it: for a store that cannot compute percentiles in SQL.
// Filters on link and platform are applied by the caller; members here.
func AggregateTurns(q ResponseTimesQuery, turns []ConversationTurn) []ResponseTimeGroup {
	type acc struct {
		first, reply, res []float64
		g                 ResponseTimeGroup
	}
	groups := map[string]*acc{}
	get := func(key string) *acc {
		a := groups[key]
		if a == nil {
			a = &acc{g: ResponseTimeGroup{Key: key}}
			groups[key] = a
		}
		return a
	}
	member := func(id string) bool { return len(q.MemberIDs) == 0 || slices.Contains(q.MemberIDs, id) }
	inRange := func(t time.Time) bool { return !t.Before(q.From) && t.Before(q.To) }
	key := func(t ConversationTurn, at time.Time, memberID string) string {
		switch q.GroupBy {
		case GroupDay:
			return DayKey(at)
		case GroupMember:
			return memberID
		case GroupAccountLink:
			return t.AccountLinkID
		case GroupPlatform:
			return t.Platform
		}
		return ""
	}
	for _, t := range turns {
		if inRange(t.StartedAt) {
			if member(t.FirstResponderMemberID) {
				a := get(key(t, t.StartedAt, t.FirstResponderMemberID))
				a.g.Inbound += int64(t.Inbound)
				a.g.Outbound += int64(t.Outbound)
				a.g.AutomatedMessages += int64(t.Automated)
				if d, ok := t.FirstResponse(); ok {
					a.first = append(a.first, d.Seconds())
				}
			}
			if d, ok := t.Resolution(); ok && member(t.ResolvedByMemberID) {
				a := get(key(t, t.StartedAt, t.ResolvedByMemberID))
				a.res = append(a.res, d.Seconds())
			}
		}
		for _, r := range t.Replies {
			if inRange(r.InboundAt) && member(r.MemberID) {
				a := get(key(t, r.InboundAt, r.MemberID))
				a.reply = append(a.reply, r.RepliedAt.Sub(r.InboundAt).Seconds())
			}
		}
	}
	out := make([]ResponseTimeGroup, 0, len(groups))
	for _, a := range groups {
		a.g.FirstResponse, a.g.Reply, a.g.Resolution = StatsOf(a.first), StatsOf(a.reply), StatsOf(a.res)
		out = append(out, a.g)
	}
	slices.SortFunc(out, func(a, b ResponseTimeGroup) int { return cmp.Compare(a.Key, b.Key) })
	return out
}
