package projections

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// Limits of the analytics queries.
const (
	MaxAnalyticsRange    = 366 * 24 * time.Hour
	MaxAnalyticsFilters  = 100
	DefaultTurnsPageSize = 100
	MaxTurnsPageSize     = 1000
)

func checkRange(from, to time.Time) error {
	switch {
	case from.IsZero():
		return domain.Invalid("from", "is required")
	case to.IsZero():
		return domain.Invalid("to", "is required")
	case !to.After(from):
		return domain.Invalid("to", "must be after from")
	case to.Sub(from) > MaxAnalyticsRange:
		return domain.Invalid("to", "must be at most 366 days after from")
	}
	return nil
}

// ResponseTimes validates q and answers its groups.
func ResponseTimes(ctx context.Context, r AnalyticsReader, q ResponseTimesQuery) ([]ResponseTimeGroup, error) {
	if err := checkRange(q.From, q.To); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name, prefix string
		ids          []string
	}{{"account_link_ids", domain.PrefixAccount, q.AccountLinkIDs}, {"member_ids", domain.PrefixMember, q.MemberIDs}} {
		if len(f.ids) > MaxAnalyticsFilters {
			return nil, domain.Invalid(f.name, "must have at most %d values", MaxAnalyticsFilters)
		}
		for _, id := range f.ids {
			if err := domain.RequireID(f.name, id, f.prefix); err != nil {
				return nil, err
			}
		}
	}
	groups, err := r.ResponseTimes(ctx, q)
	if err != nil {
		return nil, domain.Unavailable("the analytics", err)
	}
	return groups, nil
}

// turnsFilters binds a page token to its range.
type turnsFilters struct {
	Team     string
	From, To int64
}

// ConversationTurnsPage validates the range and answers one page of turns and the next page's
// token ("" on the last page).
func ConversationTurnsPage(ctx context.Context, r AnalyticsReader, team string, from, to time.Time, size int32, token string) ([]ConversationTurn, string, error) {
	if err := checkRange(from, to); err != nil {
		return nil, "", err
	}
	n := int(size)
	switch {
	case size < 0:
		return nil, "", domain.Invalid("page_size", "must not be negative")
	case size == 0:
		n = DefaultTurnsPageSize
	case size > MaxTurnsPageSize:
		n = MaxTurnsPageSize
	}
	filters := turnsFilters{team, from.UnixNano(), to.UnixNano()}
	key, err := decodeToken(token, filters)
	if err != nil {
		return nil, "", err
	}
	q := TurnQuery{TeamID: team, From: from, To: to, Limit: n + 1}
	if key != nil {
		thread, turn, ok := strings.Cut(key.ID, "#")
		t, err := strconv.Atoi(turn)
		if !ok || err != nil {
			return nil, "", domain.Invalid("page_token", "is malformed")
		}
		q.After = &TurnKey{StartedAt: key.At, ThreadID: thread, Turn: t}
	}
	turns, err := r.ConversationTurns(ctx, q)
	if err != nil {
		return nil, "", domain.Unavailable("the analytics", err)
	}
	if len(turns) <= n {
		return turns, "", nil
	}
	last := turns[n-1]
	return turns[:n], encodeToken(filters, SortKey{At: last.StartedAt, ID: last.ThreadID + "#" + strconv.Itoa(last.Turn)}), nil
}
