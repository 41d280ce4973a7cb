package connectrpc

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// WatchThreads streams the changes of a view (being built).
func (s threadService) WatchThreads(ctx context.Context, req *connect.Request[v1.WatchThreadsRequest], stream *connect.ServerStream[v1.ThreadChange]) error {
	return connect.NewError(connect.CodeUnimplemented, errors.New("WatchThreads is not implemented yet"))
}

// WatchMessages streams the changes of a thread's messages (being built).
func (s threadService) WatchMessages(ctx context.Context, req *connect.Request[v1.WatchMessagesRequest], stream *connect.ServerStream[v1.MessageChange]) error {
	return connect.NewError(connect.CodeUnimplemented, errors.New("WatchMessages is not implemented yet"))
}
