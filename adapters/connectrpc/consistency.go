package connectrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// ConsistencyHeader carries positions a call must see: the `position` tokens mutating RPCs
// answered. A call sending it is served once the read model (and, for SearchService, the
// search index) has applied every position given, comma-separated or in repeated headers.
// Every unary answer carries it back as ONE token covering the positions the call was sent
// and the one it answers, so a client may keep just the last token it received.
const ConsistencyHeader = "Switchboard-Consistency-Token"

// maxConsistencyWait bounds how long a call waits for its positions when its own deadline is
// longer or absent.
const maxConsistencyWait = 10 * time.Second

// maxConsistencyTokens bounds the tokens of one call: each is opened with an AEAD, and the
// answer's merged token spares clients from sending many.
const maxConsistencyTokens = 100

// Waiter blocks until a projection has applied every position of a cursor.
type Waiter interface {
	WaitFor(ctx context.Context, c eventlog.Cursor) error
}

// consistencyInterceptor holds back calls that carry ConsistencyHeader until what they name is
// applied: read-your-writes for clients of commands that answer once their events are durable.
type consistencyInterceptor struct {
	readModel, search Waiter
	positions         *Positions
	logger            *slog.Logger
}

// parseConsistencyToken merges the team's tokens of a call's headers into one cursor.
func parseConsistencyToken(positions *Positions, teamID string, values []string) (eventlog.Cursor, error) {
	cur, n := eventlog.Cursor{}, 0
	for _, v := range values {
		for s := range strings.SplitSeq(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if n++; n > maxConsistencyTokens {
				return nil, domain.Invalid(ConsistencyHeader, "at most %d positions per call: send the one token the last answer carried in %s", maxConsistencyTokens, ConsistencyHeader)
			}
			c, err := positions.Decode(teamID, ConsistencyHeader, s)
			if err != nil {
				return nil, err
			}
			mergeCursor(cur, c)
		}
	}
	if len(values) > 0 && n == 0 {
		return nil, domain.Invalid(ConsistencyHeader, "no position given")
	}
	return cur, nil
}

// wait blocks until the call's positions are applied and returns them (empty without the
// header).
func (i consistencyInterceptor) wait(ctx context.Context, procedure string, values []string) (eventlog.Cursor, error) {
	if len(values) == 0 {
		return eventlog.Cursor{}, nil
	}
	cur, err := parseConsistencyToken(i.positions, actorFrom(ctx).TeamID, values)
	if err != nil {
		return nil, toConnect(ctx, i.logger, err)
	}
	wctx, cancel := context.WithTimeout(ctx, maxConsistencyWait)
	defer cancel()
	type named struct {
		what string
		w    Waiter
	}
	waiters := []named{{"the read model", i.readModel}}
	if strings.HasPrefix(procedure, "/"+switchboardv1connect.SearchServiceName+"/") {
		waiters = append(waiters, named{"the search index", i.search})
	}
	// The errors name no position: a raw one would undo the tokens.
	for _, w := range waiters {
		if w.w == nil {
			continue
		}
		if err := w.w.WaitFor(wctx, cur); err != nil {
			if ctx.Err() != nil {
				return nil, connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("%s had not applied the positions of %s before the call's deadline", w.what, ConsistencyHeader))
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("%s had not applied the positions of %s after %s; retry later", w.what, ConsistencyHeader, maxConsistencyWait))
			}
			return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("%s is unavailable, retry later", w.what))
		}
	}
	return cur, nil
}

// answerToken sets the answer's ConsistencyHeader: the call's positions merged with the
// position its answer carries, as one token (none when both are empty).
func (i consistencyInterceptor) answerToken(ctx context.Context, cur eventlog.Cursor, res connect.AnyResponse) {
	teamID := actorFrom(ctx).TeamID
	if m, ok := res.Any().(proto.Message); ok {
		if f := m.ProtoReflect().Descriptor().Fields().ByName("position"); f != nil && f.Kind() == protoreflect.StringKind {
			if own, err := i.positions.Decode(teamID, "position", m.ProtoReflect().Get(f).String()); err == nil {
				mergeCursor(cur, own)
			}
		}
	}
	if len(cur) > 0 {
		res.Header().Set(ConsistencyHeader, i.positions.Encode(teamID, cur))
	}
}

func (i consistencyInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		cur, err := i.wait(ctx, req.Spec().Procedure, req.Header().Values(ConsistencyHeader))
		if err != nil {
			return nil, err
		}
		res, err := next(ctx, req)
		if err == nil && res != nil {
			i.answerToken(ctx, cur, res)
		}
		return res, err
	}
}

func (i consistencyInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i consistencyInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if _, err := i.wait(ctx, conn.Spec().Procedure, conn.RequestHeader().Values(ConsistencyHeader)); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
