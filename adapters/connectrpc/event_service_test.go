package connectrpc

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// notifyingLog is a log that counts its reads and notifies of appends, as the embedded one.
type notifyingLog struct {
	eventlog.Log
	reads  atomic.Int64
	mu     sync.Mutex
	recs   []eventlog.Record
	notify chan struct{}
}

func (l *notifyingLog) Read(_ context.Context, q eventlog.Query) ([]eventlog.Record, error) {
	l.reads.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []eventlog.Record
	for _, r := range l.recs {
		if q.After.After(r.Position) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (l *notifyingLog) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify
}

func (l *notifyingLog) append(e domain.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, eventlog.Record{Position: eventlog.Position{Offset: int64(len(l.recs) + 1)}, Event: e})
	close(l.notify)
	l.notify = make(chan struct{})
}

func streamServer(t *testing.T, d Deps) switchboardv1connect.EventServiceClient {
	d.Positions = testPositions(t)
	mux := http.NewServeMux()
	mux.Handle(switchboardv1connect.NewEventServiceHandler(NewEventService(d)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return switchboardv1connect.NewEventServiceClient(srv.Client(), srv.URL)
}

// TestIdleStreamWaitsForNotifications: an idle StreamEvents stream reads the log again only
// when the log says it has something new (it polled every 100 ms before: ~10 reads a second).
func TestIdleStreamWaitsForNotifications(t *testing.T) {
	log := &notifyingLog{notify: make(chan struct{})}
	client := streamServer(t, Deps{Log: log, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Over HTTP/1.1 the call returns with the first message: run it aside.
	got := make(chan string, 1)
	go func() {
		defer close(got)
		stream, err := client.StreamEvents(ctx, connect.NewRequest(&v1.StreamEventsRequest{}))
		if err == nil && stream.Receive() {
			got <- stream.Msg().EventId
		}
	}()
	time.Sleep(time.Second) // idle
	if n := log.reads.Load(); n > 2 {
		t.Errorf("an idle stream read the log %d times in a second", n)
	}
	at := time.Now()
	log.append(domain.Event{ID: "evt_1", TeamID: "team_1", Key: "team_1", OccurredAt: at, RecordedAt: at,
		Payload: domain.TagCreated{TagID: "tag_1", Name: "vip"}})
	select {
	case id := <-got:
		if id != "evt_1" {
			t.Fatalf("received %q", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not deliver the appended event")
	}
}

// TestStreamsEndWhenTheServerStops: closing Stopping ends open streams at once with
// Unavailable, so clients reconnect elsewhere with their last position.
func TestStreamsEndWhenTheServerStops(t *testing.T) {
	stopping := make(chan struct{})
	client := streamServer(t, Deps{Log: &notifyingLog{notify: make(chan struct{})}, Logger: slog.New(slog.DiscardHandler), Stopping: stopping})
	ended := make(chan error, 1)
	go func() {
		stream, err := client.StreamEvents(context.Background(), connect.NewRequest(&v1.StreamEventsRequest{}))
		if err != nil {
			ended <- err
			return
		}
		for stream.Receive() {
		}
		ended <- stream.Err()
	}()
	time.Sleep(100 * time.Millisecond)
	close(stopping)
	select {
	case err := <-ended:
		if connect.CodeOf(err) != connect.CodeUnavailable {
			t.Fatalf("stream ended with %v, want unavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was still open after the server began stopping")
	}
}
