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
