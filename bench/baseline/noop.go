package baseline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"

	switchboardv1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// noopIngest answers every IngestMessage at once, with no validation, auth or storage.
type noopIngest struct{}

func (noopIngest) IngestMessage(context.Context, *connect.Request[switchboardv1.IngestMessageRequest]) (*connect.Response[switchboardv1.IngestMessageResponse], error) {
	return connect.NewResponse(&switchboardv1.IngestMessageResponse{}), nil
}

func (noopIngest) IngestMessages(_ context.Context, req *connect.Request[switchboardv1.IngestMessagesRequest]) (*connect.Response[switchboardv1.IngestMessagesResponse], error) {
	return connect.NewResponse(&switchboardv1.IngestMessagesResponse{Results: make([]*switchboardv1.IngestMessagesResult, len(req.Msg.Messages))}), nil
}

// NoopConnect serves, on 127.0.0.1:0 with the same h2c http.Server settings as Switchboard, a
// Connect handler for switchboard.v1.IngestService whose IngestMessage answers an empty
// IngestMessageResponse at once: the RPC stack's own ceiling. It returns the address and a stop func.
func NoopConnect() (addr string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle(switchboardv1connect.NewIngestServiceHandler(noopIngest{}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("baseline: noop connect: %w", err)
	}
	// As server/server.go builds it: HTTP/1.1 and h2c on one port.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: mux, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("baseline: noop connect server stopped", "err", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				srv.Close() // connections still busy after the grace period
			}
			<-done
		})
	}
	return lis.Addr().String(), stop, nil
}
