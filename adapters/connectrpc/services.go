package connectrpc

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"

	linking "github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/adapters/webhooks"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/search"
)

// Deps are what the API serves from.
type Deps struct {
	App commands.App
	// KeyCache keeps API keys and members per process (nil: every call reads the read model).
	KeyCache *KeyCache
	Reader   projections.Reader
	Log      eventlog.Log
	// Search is the message search index (nil: SearchService answers Unimplemented).
	Search search.Index
	// ReadModel and SearchIndex serve ConsistencyHeader: calls carrying it wait until these
	// have applied its positions (nil: the header is accepted and not waited on).
	ReadModel, SearchIndex Waiter
	// Progress is the read model's progress that WatchThreads and WatchMessages follow (nil:
	// they answer Unimplemented).
	Progress ReadModelProgress
	Logger   *slog.Logger
	// Keys hashes bearer keys as the commands stored them.
	Keys commands.APIKeyHasher
	// Positions seals every log position the API answers into a token of the caller's team,
	// and opens the tokens calls send (required: NewPositions).
	Positions *Positions
	// Stopping is closed when the server starts shutting down: streams end at once, telling
	// their clients to reconnect, instead of holding the shutdown until its timeout.
	Stopping <-chan struct{}
	// Connector runs the connect flows and registers webhooks on link and unlink (nil:
	// StartConnect and its kin answer Unimplemented, and links register nothing).
	Connector *linking.Service
	// Analytics serves AnalyticsService (nil: it answers Unimplemented).
	Analytics *Analytics
	// Rebuilds runs blue/green projection rebuilds for AdminService (nil: it answers
	// Unimplemented, e.g. in a process without the projector role).
	Rebuilds Rebuilder
	// Webhooks manages outbound webhook subscriptions (nil: WebhookService answers
	// Unimplemented).
	Webhooks *webhooks.Manager
}

// position is the caller's token for the raw position a command answered ("" stays "").
func (d Deps) position(a commands.Actor, raw string) string {
	return d.Positions.encodeResult(a.TeamID, raw)
}

// lookup turns a read-model miss into NotFound naming the entity.
func lookup(err error, what, id string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, projections.ErrNotFound) {
		return domain.NotFound(what, id)
	}
	return domain.Unavailable("the read model", err)
}

// handle runs fn and maps its error; every RPC goes through it.
func handle[Req, Res any](d Deps, ctx context.Context, req *connect.Request[Req], fn func(ctx context.Context, a commands.Actor, m *Req) (*Res, error)) (*connect.Response[Res], error) {
	res, err := fn(ctx, actorFrom(ctx), req.Msg)
	if err != nil {
		return nil, toConnect(ctx, d.Logger, err)
	}
	return connect.NewResponse(res), nil
}
