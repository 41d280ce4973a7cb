package connectrpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// ConsistencyHeader carries positions a call must see: the `position` a mutating RPC answered.
// A call sending it is served once the read model (and, for SearchService, the search index)
// has applied every position listed, comma-separated or in repeated headers.
const ConsistencyHeader = "Switchboard-Consistency-Token"

// maxConsistencyWait bounds how long a call waits for its positions when its own deadline is
// longer or absent.
const maxConsistencyWait = 10 * time.Second

// Waiter blocks until a projection has applied every position of a cursor.
type Waiter interface {
	WaitFor(ctx context.Context, c eventlog.Cursor) error
}

// consistencyInterceptor holds back calls that carry ConsistencyHeader until what they name is
// applied: read-your-writes for clients of commands that answer once their events are durable.
type consistencyInterceptor struct {
	readModel, search Waiter
}

func parseConsistencyToken(values []string) (eventlog.Cursor, error) {
	cur := eventlog.Cursor{}
	for _, v := range values {
		for s := range strings.SplitSeq(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			p, err := eventlog.ParsePosition(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a position (partition-offset, as a mutating RPC answers it)", ConsistencyHeader, shortText(s))
			}
			cur.Advance(p)
		}
	}
	if len(values) > 0 && len(cur) == 0 {
		return nil, fmt.Errorf("%s: no position given", ConsistencyHeader)
	}
	return cur, nil
}

func (i consistencyInterceptor) wait(ctx context.Context, procedure string, values []string) error {
	if len(values) == 0 {
		return nil
	}
	cur, err := parseConsistencyToken(values)
	if err != nil {
		return connect.NewError(connect.CodeInvalidArgument, err)
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
	for _, w := range waiters {
		if w.w == nil {
			continue
		}
		if err := w.w.WaitFor(wctx, cur); err != nil {
			if ctx.Err() != nil {
				return connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("%s had not applied %s before the call's deadline", w.what, cur))
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return connect.NewError(connect.CodeUnavailable, fmt.Errorf("%s had not applied %s after %s; retry later", w.what, cur, maxConsistencyWait))
			}
			return connect.NewError(connect.CodeUnavailable, fmt.Errorf("%s is unavailable, retry later", w.what))
		}
	}
	return nil
}

func (i consistencyInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := i.wait(ctx, req.Spec().Procedure, req.Header().Values(ConsistencyHeader)); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i consistencyInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i consistencyInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := i.wait(ctx, conn.Spec().Procedure, conn.RequestHeader().Values(ConsistencyHeader)); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
