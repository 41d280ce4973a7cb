package kafka

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// DedupIndex remembers which event ids the log holds and where. Kafka has no unique key, so
// Append claims every event id in the index before publishing it: only the holder of an id's
// claim publishes it, so an id is published at most once, across processes and concurrent
// calls, and a retry learns the original's position.
//
// A claim lasts for a lease. If its holder dies or its publish fails, the event may or may not
// be in the log: the next claimer gets the id "to recover" and looks in the log before
// publishing. Implementations: sqlite.EventIndex (one host) and postgres.EventIndex (shared by
// every process). They need only the standard library and eventlog, so they do not import
// this package.
type DedupIndex interface {
	// Claim asks, as owner (one token per call), for the right to publish each of ids for
	// lease. Each id comes back in at most one of:
	//   - written: already in the log at that position, nothing to publish;
	//   - recover: now owner's claim, but an earlier claimer may have published the event,
	//     no earlier than the given time: look in the log before publishing;
	//   - held: another caller holds a live claim: wait, then ask again;
	// and every other id is now owner's claim, to publish.
	Claim(ctx context.Context, owner string, ids []string, lease time.Duration) (written map[string]eventlog.Position, recover map[string]time.Time, held []string, err error)
	// Confirm records where events were written, ending their claims whoever holds them. A
	// position recorded before stays: the first write is the event.
	Confirm(ctx context.Context, written map[string]eventlog.Position) error
	// Release ends owner's unconfirmed claims on ids. maybeWritten says the events may be in
	// the log (a publish was attempted, or the claim was a recovery): the next claimer then
	// gets them to recover. Otherwise the claims are forgotten.
	Release(ctx context.Context, owner string, ids []string, maybeWritten bool) error
}
