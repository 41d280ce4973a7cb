package commands

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

// brokenState is a read model whose engine fails.
type brokenState struct{ *fakeState }

var errEngine = errors.New("dial tcp 10.1.2.3:5432: connection refused")

func (brokenState) Thread(context.Context, string, string) (projections.Thread, error) {
	return projections.Thread{}, errEngine
}

// An engine failure is Unavailable (a retry may help), never NotFound, and its text holds no
// internal detail.
func TestEngineFailuresAreUnavailable(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(e *env) App
		run   func(App) error
	}{
		{"the log fails", func(e *env) App {
			e.log.err = errEngine
			return e.app
		}, func(app App) error {
			_, err := app.MarkThreadRead.Handle(ctx, agent, MarkThreadRead{ThreadID: thrOpen})
			return err
		}},
		{"the read model fails a lookup", func(e *env) App {
			return NewApp(Deps{Keys: testKeys, Log: e.log, State: brokenState{e.state}})
		}, func(app App) error {
			_, err := app.MarkThreadDone.Handle(ctx, agent, MarkThreadDone{ThreadID: thrOpen})
			return err
		}},
		{"the log fails to load an aggregate", func(e *env) App {
			e.log.err = errEngine
			return e.app
		}, func(app App) error {
			_, err := app.CreateTag.Handle(ctx, admin, CreateTag{Name: "New"})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			err := c.run(c.setup(e))
			assertFails(t, err, domain.KindUnavailable, "unavailable")
			if strings.Contains(err.Error(), "10.1.2.3") {
				t.Errorf("the client text leaks the cause: %q", err)
			}
			if !errors.Is(err, errEngine) {
				t.Error("the cause is lost for the logs")
			}
			if e.log.len() != 0 {
				t.Error("appended despite the failure")
			}
		})
	}
}

// recordingConsistency records what a command waited for.
type recordingConsistency struct {
	waited []eventlog.Cursor
	err    error
}

func (r *recordingConsistency) WaitFor(_ context.Context, c eventlog.Cursor) error {
	r.waited = append(r.waited, c)
	return r.err
}

// After appending, a command waits until the read model holds its event, so the caller reads
// its own write; a read model that is late does not fail the command, whose event is durable.
func TestCommandsWaitForTheReadModel(t *testing.T) {
	for _, late := range []bool{false, true} {
		e := newEnv(t)
		cons := &recordingConsistency{}
		if late {
			cons.err = context.DeadlineExceeded
		}
		app := NewApp(Deps{Keys: testKeys, Log: e.log, State: e.state, Consistency: cons, ConsistencyTimeout: time.Second,
			Now: func() time.Time { return testNow }})
		r, err := app.MarkThreadDone.Handle(context.Background(), agent, MarkThreadDone{ThreadID: thrOpen})
		if err != nil {
			t.Fatalf("late=%v: %v", late, err)
		}
		if len(cons.waited) != 1 || cons.waited[0].String() != r.Position {
			t.Errorf("late=%v: waited for %v, want the cursor of %s", late, cons.waited, r.Position)
		}
	}
}

// IngestMessage, the machine path, answers once its event is durable and never waits for the
// read model: its caller reads its write with the position as a consistency token.
func TestIngestMessageDoesNotWaitForTheReadModel(t *testing.T) {
	e := newEnv(t)
	cons := &recordingConsistency{}
	app := NewApp(Deps{Keys: testKeys, Log: e.log, State: e.state, Consistency: cons, ConsistencyTimeout: time.Second,
		Now: func() time.Time { return testNow }})
	r, err := app.IngestMessage.Handle(context.Background(), agent, IngestMessage{AccountLinkID: accAPI,
		PlatformMessageID: "m-durable", Direction: domain.Inbound, Participant: domain.Participant{PlatformID: "ana"}, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cons.waited) != 0 {
		t.Errorf("IngestMessage waited for %v, want no wait", cons.waited)
	}
	n := e.log.len()
	if want := (eventlog.Position{Partition: 0, Offset: int64(n)}).String(); n == 0 || r.Position != want ||
		e.log.since(n - 1)[0].Type() != domain.TypeMessageReceived {
		t.Errorf("answered position %s, want %s: the message.received just appended", r.Position, want)
	}
}
