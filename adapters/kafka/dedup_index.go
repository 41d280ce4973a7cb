package kafka

import (
	"context"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/eventindex"
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
	// Confirm records where events were written, ending their claims whoever holds them, their
	// version claims included. A position recorded before stays: the first write is the event.
	Confirm(ctx context.Context, written map[string]eventlog.Position) error
	// Release ends owner's unconfirmed claims on ids. maybeWritten says the events may be in
	// the log (a publish was attempted, or the claim was a recovery): the next claimer then
	// gets them to recover. Otherwise the claims are forgotten.
	Release(ctx context.Context, owner string, ids []string, maybeWritten bool) error
	// An index holds the streams' versions too (in the same database).
	StreamIndex
}

// StreamIndex gives every event of the log its version in its stream (team, key), since Kafka
// has neither conditional appends nor lookups by key. Before publishing, an append claims its
// events' versions; after, it confirms where they landed. A stream has at most one set of
// unconfirmed claims at a time, always its top versions: a stream's appends are serialized,
// which keeps versions gapless (a failed publish frees its versions before anyone can claim
// the next ones) and in the partition's order.
type StreamIndex interface {
	// ClaimVersions takes, in one transaction, the next versions of every claimed stream for
	// owner: claims[i] gets heads[i].Version+1, +2, … for its ids, in order. It takes them all
	// or none: ok is false, and nothing claimed, when a stream's head is pending (another
	// append is at work, or died: see RecoverVersions) or is not at its claim's Expected
	// version. The heads say which. Streams are claimed in one order, so claims never wait on
	// each other.
	ClaimVersions(ctx context.Context, owner string, claims []eventindex.StreamClaim, lease time.Duration) (heads []eventindex.StreamHead, ok bool, err error)
	// ReleaseVersions ends owner's unconfirmed version claims of ids: expired at once when
	// their events may be in the log (the next claimer of the stream recovers them), deleted
	// otherwise. (DedupIndex.Confirm confirms versions: it records an event's position for its
	// id and for its version alike.)
	ReleaseVersions(ctx context.Context, owner string, ids []string, maybeWritten bool) error
	// RecoverVersions takes over, as owner for lease, the stream's unconfirmed claims whose
	// lease ran out, in version order: the caller looks for their events in the log, confirms
	// those it finds and releases the others as not written.
	RecoverVersions(ctx context.Context, owner, teamID, key string, lease time.Duration) ([]eventindex.PendingVersion, error)
	// PendingVersions returns, without taking them over, the stream's unconfirmed claims
	// taken at or before claimedBefore, live ones included, in version order: the caller
	// confirms those whose events it finds in the log (Confirm needs no ownership).
	PendingVersions(ctx context.Context, teamID, key string, claimedBefore time.Time) ([]eventindex.PendingVersion, error)
	// StreamPositions returns up to limit confirmed versions of the stream above after, in
	// version order, with their positions.
	StreamPositions(ctx context.Context, teamID, key string, after int64, limit int) ([]eventindex.VersionPosition, error)
	// VersionsOf returns the versions of those ids that have one (claimed or confirmed).
	VersionsOf(ctx context.Context, ids []string) (map[string]int64, error)
	// BackfillMarks returns, per partition of topic, the offset below which every record of
	// the topic is in the index (see Backfill); a partition without one starts at 0.
	BackfillMarks(ctx context.Context, topic string) (map[int32]int64, error)
	// Backfill records, in one transaction serialized with every other Backfill of the index,
	// the events of topic's partition read from offset from up to to (excluded), as
	// eventindex.PlanBackfill decides, and moves the partition's mark to to. It does so only
	// if the mark is still at from; otherwise it records nothing and reports Moved. Repeating
	// a batch changes nothing.
	Backfill(ctx context.Context, topic string, partition int32, from, to int64, recs []eventindex.LogEvent) (eventindex.BackfillResult, error)
}
