// Package commands holds one handler per command: each validates its input, loads the aggregate
// that owns the rules from its stream in the log (domain.Team, domain.Prospect), lets it decide,
// and appends the events it decided expecting the stream's version (see write_model.go).
// Nothing else writes.
package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

// Actor is who issues a command: a member of a team, through an API key.
type Actor struct {
	TeamID        string
	MemberID      string
	Role          string
	InstanceAdmin bool
}

func (a Actor) name() string {
	if a.MemberID == "" {
		return domain.ActorSystem
	}
	return domain.ActorMember(a.MemberID)
}

// Appender is the part of the event log that commands use: streams to load aggregates from and
// append to with an expected version, and plain appends for events no rule governs.
type Appender interface {
	Append(ctx context.Context, events []domain.Event) ([]eventlog.AppendResult, error)
	eventlog.Streams
}

// State is the part of the read model that commands still read: facts that never change once
// true (which prospect a thread belongs to) and instance-wide counts. Rules are decided on
// aggregates, never on it.
type State interface {
	Thread(ctx context.Context, teamID, id string) (projections.Thread, error)
	// Message: which thread and prospect a message belongs to, and its platform id (a reply's
	// quote): facts that never change.
	Message(ctx context.Context, teamID, id string) (projections.Message, error)
	CountAPIKeys(ctx context.Context) (int, error)
}

// Credentials keeps account credentials out of the log, encrypted at rest.
type Credentials interface {
	Put(ctx context.Context, teamID, accountLinkID string, creds map[string]string) error
	// Get reads them back: SendMessage reads the link's settings kept with them (human_agent).
	Get(ctx context.Context, teamID, accountLinkID string) (map[string]string, error)
}

// IdempotencyRecord is the remembered outcome of a command issued with an idempotency key.
type IdempotencyRecord struct {
	Command     string
	Fingerprint string
	Result      []byte
}

// Idempotency remembers command outcomes by (team, key).
type Idempotency interface {
	Get(ctx context.Context, teamID, key string) (IdempotencyRecord, bool, error)
	Put(ctx context.Context, teamID, key string, r IdempotencyRecord) error
}

// Consistency waits until the read model reflects a log cursor, so a client reads its writes.
type Consistency interface {
	WaitFor(ctx context.Context, c eventlog.Cursor) error
}

// Deps are what every handler needs.
type Deps struct {
	Log         Appender
	State       State
	Credentials Credentials
	Idempotency Idempotency
	Consistency Consistency
	Logger      *slog.Logger
	Now         func() time.Time
	// ConsistencyTimeout bounds the wait for the read model after an append (default 5s).
	ConsistencyTimeout time.Duration
	// Assigned finds the threads assigned to a member, for RemoveMember (nil: none are).
	Assigned ThreadsOf
	// Keys hashes API keys (the instance's secret).
	Keys APIKeyHasher
	// AggregateCache is how many prospect aggregates the process keeps loaded
	// (DefaultAggregateCache when 0).
	AggregateCache int

	wm *writeModel // the App's; set by NewApp
}

// base carries Deps into each handler.
type base struct{ Deps }

func (b base) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC()
	}
	return time.Now().UTC()
}

// Result is what every command returns: where its events landed.
type Result struct {
	Position  string `json:"position"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// newEvent builds an event of the actor's team; its id derives from the idempotency key when
// there is one, so even a crash between append and remembering the outcome cannot append twice.
func (b base) newEvent(a Actor, key, idemKey, command string, n int, p domain.Payload) domain.Event {
	now := b.now()
	id := domain.NewID(domain.PrefixEvent)
	if idemKey != "" {
		id = domain.DeriveID(domain.PrefixEvent, a.TeamID, "cmd", command, idemKey, strconv.Itoa(n))
	}
	// knownEventID derives the same id for n = 0.
	return domain.Event{ID: id, TeamID: a.TeamID, Key: key, OccurredAt: now, RecordedAt: now,
		Actor: a.name(), Origin: domain.OriginAPI, Payload: p}
}

// errNothingToDo ends a decision that has nothing to append (not an error for the caller).
var errNothingToDo = errors.New("nothing to do")

// teamEvents1 wraps the one payload a Team decision made into the actor's event.
func (b base) teamEvents1(a Actor, idemKey, command string, p domain.Payload, err error) ([]domain.Event, error) {
	if err != nil {
		return nil, err
	}
	return []domain.Event{b.newEvent(a, a.TeamID, idemKey, command, 0, p)}, nil
}

// knownEventID is the id of the (first) event a command with an idempotency key appends, or ""
// without a key: see repository.update.
func (b base) knownEventID(a Actor, command, idemKey string) string {
	if idemKey == "" {
		return ""
	}
	return domain.DeriveID(domain.PrefixEvent, a.TeamID, "cmd", command, idemKey, "0")
}

// newEntityID returns the id of what a command creates. With an idempotency key it derives
// from the key like the event's id, so a retry whose first outcome was lost (the log refusing
// the repeated event) still names what the first call created.
func (b base) newEntityID(a Actor, prefix, command, idemKey string) string {
	if idemKey == "" {
		return domain.NewID(prefix)
	}
	return domain.DeriveID(prefix, a.TeamID, "cmd", command, idemKey)
}

func (b base) wait(ctx context.Context, cur eventlog.Cursor) {
	if b.Consistency == nil {
		return
	}
	timeout := b.ConsistencyTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := b.Consistency.WaitFor(wctx, cur); err != nil && b.Logger != nil {
		// The events are durable; the read model will catch up. Only the read-your-writes
		// promise is late, which the caller can still get with the returned position.
		b.Logger.Warn("read model did not catch up in time", "err", err)
	}
}

// idempotent runs fn once per (team, idempotency key): a retry returns the first outcome.
// A key reused for another request is refused.
func idempotent[R any](ctx context.Context, b base, a Actor, command, key string, request any, fn func() (R, error)) (R, error) {
	var zero R
	if key == "" || b.Idempotency == nil {
		return fn()
	}
	if len(key) > 255 {
		return zero, domain.Invalid("idempotency_key", "must be at most 255 characters")
	}
	fp, err := json.Marshal(request)
	if err != nil {
		return zero, err
	}
	sum := sha256.Sum256(append([]byte(command+"\x00"), fp...))
	fingerprint := hex.EncodeToString(sum[:])
	rec, found, err := b.Idempotency.Get(ctx, a.TeamID, key)
	if err != nil {
		return zero, domain.Unavailable("the idempotency store", err)
	}
	if found {
		if rec.Command != command || rec.Fingerprint != fingerprint {
			return zero, domain.Invalid("idempotency_key", "was already used for a different request")
		}
		var r R
		if err := json.Unmarshal(rec.Result, &r); err != nil {
			return zero, err
		}
		return r, nil
	}
	r, err := fn()
	if err != nil {
		return zero, err
	}
	out, err := json.Marshal(r)
	if err != nil {
		return zero, err
	}
	if err := b.Idempotency.Put(ctx, a.TeamID, key, IdempotencyRecord{Command: command, Fingerprint: fingerprint, Result: out}); err != nil {
		// The command took effect; a retry would be refused by the log's event-id check at worst.
		if b.Logger != nil {
			b.Logger.Warn("idempotency record not saved", "command", command, "err", err)
		}
	}
	return r, nil
}

// found turns a read-model miss into a NotFound naming the entity, and an engine failure into
// Unavailable.
func found(err error, what, id string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, projections.ErrNotFound) {
		return domain.NotFound(what, id)
	}
	return domain.Unavailable("the read model", err)
}

// App gathers every command handler.
type App struct {
	LinkAccount           LinkAccountHandler
	UnlinkAccount         UnlinkAccountHandler
	IngestMessage         IngestMessageHandler
	AssignThread          AssignThreadHandler
	UnassignThread        UnassignThreadHandler
	MarkThreadDone        MarkThreadDoneHandler
	ReopenThread          ReopenThreadHandler
	MarkThreadRead        MarkThreadReadHandler
	TagProspect           TagProspectHandler
	UntagProspect         UntagProspectHandler
	SetProspectStatus     SetProspectStatusHandler
	UpdateProspectContext UpdateProspectContextHandler
	CreateTag             CreateTagHandler
	DeleteTag             DeleteTagHandler
	CreateStatus          CreateStatusHandler
	AddMember             AddMemberHandler
	CreateAPIKey          CreateAPIKeyHandler
	RevokeAPIKey          RevokeAPIKeyHandler
	RemoveMember          RemoveMemberHandler
	CreateTeam            CreateTeamHandler
	Bootstrap             BootstrapHandler
	ReceivePlatform       ReceivePlatformHandler
	SendMessage           SendMessageHandler
	RetrySend             RetrySendHandler
	CancelSend            CancelSendHandler
	SendSaga              SendSagaHandler
	ReportAccountHealth   ReportAccountHealthHandler
	RecordTokenRefresh    RecordTokenRefreshHandler
}

// NewApp wires every handler to deps, sharing one write model.
func NewApp(d Deps) App {
	d.wm = newWriteModel(d)
	return App{
		LinkAccount:           NewLinkAccountHandler(d),
		UnlinkAccount:         NewUnlinkAccountHandler(d),
		IngestMessage:         NewIngestMessageHandler(d),
		AssignThread:          NewAssignThreadHandler(d),
		UnassignThread:        NewUnassignThreadHandler(d),
		MarkThreadDone:        NewMarkThreadDoneHandler(d),
		ReopenThread:          NewReopenThreadHandler(d),
		MarkThreadRead:        NewMarkThreadReadHandler(d),
		TagProspect:           NewTagProspectHandler(d),
		UntagProspect:         NewUntagProspectHandler(d),
		SetProspectStatus:     NewSetProspectStatusHandler(d),
		UpdateProspectContext: NewUpdateProspectContextHandler(d),
		CreateTag:             NewCreateTagHandler(d),
		DeleteTag:             NewDeleteTagHandler(d),
		CreateStatus:          NewCreateStatusHandler(d),
		AddMember:             NewAddMemberHandler(d),
		CreateAPIKey:          NewCreateAPIKeyHandler(d),
		RevokeAPIKey:          NewRevokeAPIKeyHandler(d),
		RemoveMember:          NewRemoveMemberHandler(d),
		CreateTeam:            NewCreateTeamHandler(d),
		Bootstrap:             NewBootstrapHandler(d),
		ReceivePlatform:       NewReceivePlatformHandler(d),
		SendMessage:           NewSendMessageHandler(d),
		RetrySend:             NewRetrySendHandler(d),
		CancelSend:            NewCancelSendHandler(d),
		SendSaga:              NewSendSagaHandler(d),
		ReportAccountHealth:   NewReportAccountHealthHandler(d),
		RecordTokenRefresh:    NewRecordTokenRefreshHandler(d),
	}
}
