package projections

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// ErrNotFound is returned by a store when a row does not exist.
var ErrNotFound = errors.New("not found")

// Store is the read-model port. Writes happen only inside Update, from projectors; reads come
// from the queries.
type Store interface {
	// Update runs fn in one transaction: every row it writes and the checkpoint it sets are
	// committed together, or none is.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Checkpoint returns the cursor of the last events a projection has applied.
	Checkpoint(ctx context.Context, projection string) (eventlog.Cursor, error)
	// Reset drops every row and checkpoint, so the read model is rebuilt from the log.
	Reset(ctx context.Context) error
	Ping(ctx context.Context) error
	Close() error
	Reader
}

// Tx is what projection rules read and write inside one Update. Get* return ErrNotFound for
// missing rows. Puts are upserts by id.
type Tx interface {
	Checkpoint(projection string) (eventlog.Cursor, error)
	SetCheckpoint(projection string, c eventlog.Cursor) error

	PutTeam(t Team) error
	PutMember(m Member) error
	PutAPIKey(k APIKey) error
	DeleteAPIKey(teamID, id string) error
	DeleteMember(teamID, id string) error
	PutTag(t Tag) error
	DeleteTag(teamID, tagID string) error
	PutStatus(s Status) error

	GetAccountLink(teamID, id string) (AccountLink, error)
	PutAccountLink(a AccountLink) error

	GetProspect(teamID, id string) (Prospect, error)
	PutProspect(p Prospect) error
	AddProspectTag(teamID, prospectID, tagID string) error
	RemoveProspectTag(teamID, prospectID, tagID string) error

	GetThread(teamID, id string) (Thread, error)
	PutThread(t Thread) error
	// ThreadsOfProspect returns every thread of a prospect.
	ThreadsOfProspect(teamID, prospectID string) ([]Thread, error)

	GetMessage(teamID, id string) (Message, error)
	// InsertMessage inserts a message unless its id exists; it reports whether it did.
	InsertMessage(m Message) (bool, error)
	PutMessage(m Message) error
}

// Reader answers queries. Filters come already validated; the semantics of views and paging
// are fixed by ThreadQuery.Where so every adapter agrees.
type Reader interface {
	Team(ctx context.Context, id string) (Team, error)
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	APIKeys(ctx context.Context, teamID string) ([]APIKey, error)
	// TouchAPIKeys records when keys last authenticated a call (runtime data, not events).
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error
	CountAPIKeys(ctx context.Context) (int, error)
	Member(ctx context.Context, teamID, id string) (Member, error)
	Members(ctx context.Context, teamID string) ([]Member, error)
	Tag(ctx context.Context, teamID, id string) (Tag, error)
	Tags(ctx context.Context, teamID string) ([]Tag, error)
	Status(ctx context.Context, teamID, id string) (Status, error)
	Statuses(ctx context.Context, teamID string) ([]Status, error)
	AccountLink(ctx context.Context, teamID, id string) (AccountLink, error)
	AccountLinks(ctx context.Context, teamID string) ([]AccountLink, error)
	// AccountLinkByID finds a link by id alone, for webhooks that carry no key.
	AccountLinkByID(ctx context.Context, id string) (AccountLink, error)
	// ActiveAccountLinks lists the active links of the given platforms, across every team, by
	// team id then id: what the poll scheduler works on.
	ActiveAccountLinks(ctx context.Context, platforms []string) ([]AccountLink, error)

	Prospect(ctx context.Context, teamID, id string) (Prospect, error)
	// Prospects lists prospects by last_seen_at desc, id desc, after the cursor.
	Prospects(ctx context.Context, q ProspectQuery) ([]Prospect, error)
	// ProspectTags returns the live (not deleted) tags of each prospect, by name.
	ProspectTags(ctx context.Context, teamID string, prospectIDs []string) (map[string][]Tag, error)

	Thread(ctx context.Context, teamID, id string) (Thread, error)
	// Threads lists threads matching q, by last_message_at desc, id desc, after q.After.
	Threads(ctx context.Context, q ThreadQuery) ([]Thread, error)

	Message(ctx context.Context, teamID, id string) (Message, error)
	// MessagesByID returns the team's messages of these ids (at most MaxMessagesByID), in one
	// query, by id; an id without a message has no entry.
	MessagesByID(ctx context.Context, teamID string, ids []string) (map[string]Message, error)
	// Messages lists a thread's messages by sent_at desc, id desc, after the cursor.
	Messages(ctx context.Context, q MessageQuery) ([]Message, error)
}

// MaxMessagesByID is how many ids one MessagesByID call takes: a page of search hits.
const MaxMessagesByID = 500

// SortKey is a keyset-paging position: rows strictly after (At, ID) in descending order.
type SortKey struct {
	At time.Time
	ID string
}
