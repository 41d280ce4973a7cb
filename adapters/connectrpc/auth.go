package connectrpc

import (
	"context"
	"errors"
	"strings"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/projections"
)

// KeyReader is what authentication reads.
type KeyReader interface {
	APIKeyByHash(ctx context.Context, hash string) (projections.APIKey, error)
	Member(ctx context.Context, teamID, id string) (projections.Member, error)
}

type actorKey struct{}

// caller is who an authenticated call comes from.
type caller struct {
	actor commands.Actor
	keyID string
}

func actorFrom(ctx context.Context) commands.Actor {
	c, _ := ctx.Value(actorKey{}).(caller)
	return c.actor
}

// authInterceptor resolves the bearer key of every call to its team and member. guardAPI runs
// it before the body is read; the interceptor only authenticates calls that did not pass
// there, and counts the streams of each key.
type authInterceptor struct {
	keys    KeyReader
	streams *streamSlots
}

func (i authInterceptor) authenticate(ctx context.Context, header string) (context.Context, error) {
	if _, ok := ctx.Value(actorKey{}).(caller); ok {
		return ctx, nil // authenticated by guardAPI
	}
	token, ok := strings.CutPrefix(header, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("missing API key: send Authorization: Bearer <key>"))
	}
	k, err := i.keys.APIKeyByHash(ctx, commands.HashAPIKey(token))
	if errors.Is(err, projections.ErrNotFound) {
		return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("invalid API key"))
	}
	if err != nil {
		return ctx, connect.NewError(connect.CodeUnavailable, errors.New("the read model is unavailable, retry later"))
	}
	m, err := i.keys.Member(ctx, k.TeamID, k.MemberID)
	if errors.Is(err, projections.ErrNotFound) {
		return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("invalid API key"))
	}
	if err != nil {
		return ctx, connect.NewError(connect.CodeUnavailable, errors.New("the read model is unavailable, retry later"))
	}
	return context.WithValue(ctx, actorKey{}, caller{keyID: k.ID, actor: commands.Actor{
		TeamID: k.TeamID, MemberID: k.MemberID, Role: m.Role, InstanceAdmin: k.InstanceAdmin,
	}}), nil
}

func (i authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, err := i.authenticate(ctx, req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.RequestHeader().Get("Authorization"))
		if err != nil {
			return err
		}
		if i.streams != nil {
			c, _ := ctx.Value(actorKey{}).(caller)
			release, err := i.streams.acquire(c.keyID)
			if err != nil {
				return err
			}
			defer release()
		}
		return next(ctx, conn)
	}
}
