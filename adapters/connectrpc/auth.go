package connectrpc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

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
// there, and counts the streams of each key. A revoked key or a removed member is refused as
// soon as the read model has applied the revocation (which RevokeApiKey and RemoveMember wait
// for before they answer).
type authInterceptor struct {
	keys    KeyReader
	hasher  commands.APIKeyHasher
	usage   *keyUsage
	streams *streamSlots
	cache   *KeyCache // nil: every call reads the read model
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
	var k projections.APIKey
	var m projections.Member
	cands := i.hasher.Candidates(token)
	entry, hit, gen := i.cache.get(cands[0])
	if hit {
		k, m = entry.key, entry.member
	} else {
		err := projections.ErrNotFound
		for _, h := range cands { // this instance's hash, then a first-release key's
			if k, err = i.keys.APIKeyByHash(ctx, h); !errors.Is(err, projections.ErrNotFound) {
				break
			}
		}
		if errors.Is(err, projections.ErrNotFound) {
			return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("invalid API key"))
		}
		if err != nil {
			return ctx, connect.NewError(connect.CodeUnavailable, errors.New("the read model is unavailable, retry later"))
		}
		m, err = i.keys.Member(ctx, k.TeamID, k.MemberID)
		if errors.Is(err, projections.ErrNotFound) {
			return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("invalid API key"))
		}
		if err != nil {
			return ctx, connect.NewError(connect.CodeUnavailable, errors.New("the read model is unavailable, retry later"))
		}
		i.cache.put(cands[0], authEntry{key: k, member: m}, gen)
	}
	// Revoked or removed as this process saw it, whatever the read model still shows.
	if !i.cache.allowed(authEntry{key: k}) {
		return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("invalid API key"))
	}
	i.usage.used(k)
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

// keyUsage records when keys authenticated calls in the read model, at most once a minute per
// key and off the request path.
type keyUsage struct {
	mu    sync.Mutex
	last  map[string]time.Time
	touch func(ctx context.Context, used map[string]time.Time) error
}

const keyUsageResolution = time.Minute

func (u *keyUsage) used(k projections.APIKey) {
	now := time.Now().UTC()
	if u == nil || u.touch == nil || now.Sub(k.LastUsedAt) < keyUsageResolution {
		return
	}
	u.mu.Lock()
	if now.Sub(u.last[k.ID]) < keyUsageResolution {
		u.mu.Unlock()
		return
	}
	if u.last == nil {
		u.last = map[string]time.Time{}
	}
	u.last[k.ID] = now
	u.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = u.touch(ctx, map[string]time.Time{k.ID: now}) // best effort: the next use records it
	}()
}
