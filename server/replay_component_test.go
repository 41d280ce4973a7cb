package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "modernc.org/sqlite"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// The replay fixture: an event log written by the release before the write model (aggregates and
// expected-version appends), and every view that release built from it. Made by
// SWITCHBOARD_UPDATE_REPLAY=1 go test -run TestReplayPreviousReleaseLog ./server/ — only ever
// with the release that wrote it; later releases must read it unchanged.
const (
	replayLog   = "testdata/replay/v1-events.db"
	replayViews = "testdata/replay/v1-views.json"
)

// TestReplayPreviousReleaseLog: rebuilding the read model from a log written by the previous
// release gives exactly the views that release showed. Events are never edited in place, so a
// new release must keep projecting old events to the same result.
func TestReplayPreviousReleaseLog(t *testing.T) {
	t.Parallel()
	if os.Getenv("SWITCHBOARD_UPDATE_REPLAY") != "" {
		writeReplayFixture(t)
	}
	want := readViews(t, replayViews)
	dir := t.TempDir()
	copyFile(t, replayLog, filepath.Join(dir, "events.db"))
	s := startServer(t, dir)
	got := snapshot(api{t, newConnectClient(s.Addr), adminKey})
	// A link's capabilities are served from the platform's capability map, not projected from
	// events: the release that wrote the views did not serve them yet.
	for _, v := range got {
		if l, ok := v.(*v1.ListAccountLinksResponse); ok {
			for _, a := range l.AccountLinks {
				a.Capabilities = nil
			}
		}
	}
	compare(t, "replayed v1 log", want, got)
}

// writeReplayFixture runs the inbox scenario on a fresh server and keeps its log, then the
// views that a fresh read model builds from that log.
func writeReplayFixture(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	inboxScenario(t, api{t, newConnectClient(s.Addr), adminKey})
	stopServer(t, s)

	db, err := sql.Open("sqlite", filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out, _ := filepath.Abs(replayLog)
	_ = os.Remove(out)
	// One self-contained file: no WAL beside it, no free pages.
	if _, err := db.ExecContext(context.Background(), `VACUUM INTO ?`, out); err != nil {
		t.Fatal(err)
	}

	fresh := t.TempDir()
	copyFile(t, replayLog, filepath.Join(fresh, "events.db"))
	s = startServer(t, fresh)
	writeViews(t, replayViews, snapshot(api{t, newConnectClient(s.Addr), adminKey}))
	stopServer(t, s)
}

type typedView struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

func writeViews(t *testing.T, path string, views []proto.Message) {
	out := make([]typedView, len(views))
	for i, v := range views {
		b, err := protojson.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = typedView{Type: string(v.ProtoReflect().Descriptor().FullName()), Value: b}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readViews(t *testing.T, path string) []proto.Message {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in []typedView
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	out := make([]proto.Message, len(in))
	for i, v := range in {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(v.Type))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m := mt.New().Interface()
		if err := protojson.Unmarshal(v.Value, m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out[i] = m
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
