// Package eventindex holds the types of the Kafka event log's index (adapters/kafka.DedupIndex)
// that its implementations (adapters/sqlite, adapters/postgres) share without importing Kafka.
package eventindex

import (
	"slices"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// StreamClaim asks for the next versions of one stream, one per id, in order.
type StreamClaim struct {
	TeamID, Key string
	// Expected is the version the stream must be at, or eventlog.ExpectAny.
	Expected int64
	IDs      []string
}

// StreamHead is the top of a stream in the index.
type StreamHead struct {
	// Version is the stream's last version, claimed or confirmed (0: no event).
	Version int64
	// Pending says Version's claim is not confirmed yet: its event may or may not be in the log.
	Pending bool
	// Live says a pending claim's lease has not run out: its holder is still at work.
	Live bool
}

// PendingVersion is an unconfirmed version claim taken over for recovery.
type PendingVersion struct {
	Version int64
	EventID string
	Since   time.Time // the claim's time: the event, if written, is not older
}

// VersionPosition says where a stream's version sits in the log.
type VersionPosition struct {
	Version  int64
	Position eventlog.Position
}

// Claimable says whether every claim may take its stream's next versions: no head is pending
// and every expected version is met. Every index decides with it.
func Claimable(claims []StreamClaim, heads []StreamHead) bool {
	for i, c := range claims {
		if heads[i].Pending || (c.Expected != eventlog.ExpectAny && heads[i].Version != c.Expected) {
			return false
		}
	}
	return true
}

// Order returns the claims' indexes in (team, key) order: one lock order for every index.
func Order(claims []StreamClaim) []int {
	order := make([]int, len(claims))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := strings.Compare(claims[a].TeamID, claims[b].TeamID); c != 0 {
			return c
		}
		return strings.Compare(claims[a].Key, claims[b].Key)
	})
	return order
}

// LogEvent is one record of the topic as the backfill (StreamIndex.Backfill) reads it.
type LogEvent struct {
	EventID, TeamID, Key string
	// Version is the version the record carries in its header; 0 for a record written by a
	// release that gave none.
	Version  int64
	Position eventlog.Position
}

// Known is what the index holds of an event already: its version, and whether its claim is
// confirmed.
type Known struct {
	Version   int64
	Confirmed bool
}

// BackfillResult says what one Backfill call did.
type BackfillResult struct {
	// Moved says the partition's mark was not at the call's start any more (another process
	// backfilled it meanwhile): nothing was recorded; Mark is where it is now.
	Moved bool
	Mark  int64
	// Added events got a row (Assigned of them a version of the index's choosing, the others
	// their header's); Confirmed ones had an unconfirmed claim that now has its position;
	// Refused ones could not take their version (another event holds it).
	Added, Assigned, Confirmed, Refused int
}

// Backfilled is one event the backfill records, with its version.
type Backfilled struct {
	LogEvent
	Version int64
}

// PlanBackfill decides, for every index, what a backfill batch records: events the index
// lacks get their header's version, or the next one of their stream (heads: each stream's
// last version in the index, updated as versions are given) in log order; events with an
// unconfirmed claim are confirmed where they are; confirmed ones stay. An event id met
// twice keeps its first position.
func PlanBackfill(recs []LogEvent, known map[string]Known, heads map[[2]string]int64) (add []Backfilled, confirm []LogEvent, assigned int) {
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.EventID] {
			continue
		}
		seen[r.EventID] = true
		if k, ok := known[r.EventID]; ok {
			if !k.Confirmed {
				confirm = append(confirm, r)
			}
			continue
		}
		s := [2]string{r.TeamID, r.Key}
		v := r.Version
		if v <= 0 {
			v = heads[s] + 1
			assigned++
		}
		heads[s] = max(heads[s], v)
		add = append(add, Backfilled{LogEvent: r, Version: v})
	}
	return add, confirm, assigned
}

// Streams returns the distinct streams of recs.
func Streams(recs []LogEvent) [][2]string {
	seen := map[[2]string]bool{}
	var out [][2]string
	for _, r := range recs {
		s := [2]string{r.TeamID, r.Key}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
