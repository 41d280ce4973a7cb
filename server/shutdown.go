package server

import (
	"context"
	"errors"

	"connectrpc.com/connect"
)

// endStreamsOnShutdown ends every streaming call once the server begins to shut down. A stream
// (StreamEvents, a live tail) never finishes by itself, so http.Server.Shutdown would wait for
// it until the shutdown timeout, and the engines would then close under it. Unary calls are
// left alone: they finish within the timeout.
type endStreamsOnShutdown struct {
	shutdown context.Context // done when the shutdown begins
}

var errShuttingDown = errors.New("server shutting down")

func (endStreamsOnShutdown) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc { return next }

func (endStreamsOnShutdown) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (e endStreamsOnShutdown) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(e.shutdown, func() { cancel(errShuttingDown) })
		defer stop()
		err := next(ctx, conn)
		// A handler that ends with its context's error rather than cleanly: the client learns
		// why, with a code that says "try again elsewhere".
		if err != nil && e.shutdown.Err() != nil && (errors.Is(err, context.Canceled) || connect.CodeOf(err) == connect.CodeCanceled) {
			return connect.NewError(connect.CodeUnavailable, errShuttingDown)
		}
		return err
	}
}
