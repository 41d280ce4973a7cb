// Package connectrpc serves Switchboard's API over Connect, gRPC and gRPC-web: it turns
// requests into commands and queries, and their outcomes into responses. No business rule
// lives here.
package connectrpc

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/domain"
)

// toConnect is the one place where domain errors become transport codes. An error without a
// kind is internal: it is logged, and the client sees only that something failed.
func toConnect(ctx context.Context, logger *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded"))
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		logger.ErrorContext(ctx, "internal error", "err", err)
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	code := connect.CodeInternal
	switch de.Kind {
	case domain.KindInvalid:
		code = connect.CodeInvalidArgument
	case domain.KindNotFound:
		code = connect.CodeNotFound
	case domain.KindPrecondition:
		code = connect.CodeFailedPrecondition
	case domain.KindAlreadyExists:
		code = connect.CodeAlreadyExists
	case domain.KindUnauthenticated:
		code = connect.CodeUnauthenticated
	case domain.KindPermissionDenied:
		code = connect.CodePermissionDenied
	case domain.KindAborted:
		code = connect.CodeAborted
	case domain.KindUnavailable:
		code = connect.CodeUnavailable
		// The cause (a full disk, a corrupt file) is for the operator: logged, never sent.
		logger.WarnContext(ctx, "engine unavailable", "err", err, "cause", de.Err)
	default:
		logger.ErrorContext(ctx, "internal error", "err", err)
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	// Messages may quote the client's input: never more than a short prefix of it.
	return connect.NewError(code, errors.New(cut(de.Error(), 300)))
}
