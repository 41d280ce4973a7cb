package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/parquet-go/parquet-go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/domain"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
	"github.com/switchboard-oss/switchboard/server"
)

// exportEventCount is how many messages the export test puts in the log (50k; 5k with -short).
func exportEventCount() int {
	if testing.Short() {
		return 5000
	}
	return 50_000
}

// listAll pages through ListEvents as any client would: the reference an export is compared to.
func listAll(t *testing.T, c switchboardv1connect.EventServiceClient, key string) []*v1.Event {
	t.Helper()
	var out []*v1.Event
	after := ""
	for {
		req := connect.NewRequest(&v1.ListEventsRequest{AfterPosition: after, PageSize: 1000})
		req.Header().Set("Authorization", "Bearer "+key)
		res, err := c.ListEvents(context.Background(), req)
		if err != nil {
			t.Fatalf("ListEvents: %v", err)
		}
		if len(res.Msg.Events) == 0 {
			return out
		}
		out = append(out, res.Msg.Events...)
		after = res.Msg.NextPosition
	}
}

func readJSONL(t *testing.T, path string) []*v1.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*v1.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		e := &v1.Event{}
		if err := protojson.Unmarshal(sc.Bytes(), e); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readParquet(t *testing.T, path string) []parquetRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := parquet.NewGenericReader[parquetRow](f)
	defer r.Close()
	out := make([]parquetRow, r.NumRows())
	n, err := r.Read(out)
	if err != nil && err != io.EOF {
		t.Fatalf("%s: %v", path, err)
	}
	return out[:n]
}

// samePosition says whether two position tokens of the team name the same cursor (tokens are
// sealed with a fresh nonce each time, so equal cursors give different strings).
func samePosition(t *testing.T, s *server.Server, team, a, b string) bool {
	t.Helper()
	ca, err1 := s.Positions().Decode(team, "a", a)
	cb, err2 := s.Positions().Decode(team, "b", b)
	if err1 != nil || err2 != nil {
		t.Fatalf("decoding positions: %v %v", err1, err2)
	}
	return ca.String() == cb.String()
}

// sameEvent compares an exported event with ListEvents' field by field (positions by cursor).
func sameEvent(t *testing.T, s *server.Server, team string, got, want *v1.Event) bool {
	t.Helper()
	g, w := proto.Clone(got).(*v1.Event), proto.Clone(want).(*v1.Event)
	g.Position, w.Position = "", ""
	return proto.Equal(g, w) && samePosition(t, s, team, got.Position, want.Position)
}

// checkParquetRow compares a Parquet row with the event ListEvents answered.
func checkParquetRow(t *testing.T, s *server.Server, team string, i int, r parquetRow, e *v1.Event) {
	t.Helper()
	var data, want map[string]any
	if err := json.Unmarshal([]byte(r.Data), &data); err != nil {
		t.Fatalf("row %d: data is not JSON: %v", i, err)
	}
	wantJSON, _ := json.Marshal(e.Data.AsMap())
	_ = json.Unmarshal(wantJSON, &want)
	if r.EventID != e.EventId || r.Type != e.Type || r.Key != e.Key || !r.OccurredAt.Equal(e.OccurredAt.AsTime()) ||
		!r.RecordedAt.Equal(e.RecordedAt.AsTime()) || r.Actor != e.Actor || r.Origin != e.Origin ||
		deref(r.CausationID) != e.CausationId || deref(r.CorrelationID) != e.CorrelationId || !reflect.DeepEqual(data, want) ||
		!samePosition(t, s, team, r.Position, e.Position) {
		t.Fatalf("row %d differs from ListEvents:\n got %+v\nwant %v", i, r, e)
	}
	f := e.Data.Fields
	if e.Type == domain.TypeMessageReceived {
		sent, _ := time.Parse(time.RFC3339Nano, f["sent_at"].GetStringValue())
		if deref(r.MessageID) != f["message_id"].GetStringValue() || deref(r.ThreadID) != f["thread_id"].GetStringValue() ||
			deref(r.Platform) != f["platform"].GetStringValue() || deref(r.Direction) != f["direction"].GetStringValue() ||
			deref(r.Conversation) != f["platform_conversation_id"].GetStringValue() || deref(r.Text) != f["text"].GetStringValue() ||
			deref(r.SenderID) != f["prospect"].GetStructValue().Fields["platform_id"].GetStringValue() ||
			r.SentAt == nil || !r.SentAt.Equal(sent) {
			t.Fatalf("row %d: message columns differ from the payload:\n got %+v\nwant %v", i, r, e)
		}
	} else if !strings.HasPrefix(e.Type, "message.") && (r.MessageID != nil || r.Text != nil || r.SentAt != nil || r.Platform != nil) {
		t.Fatalf("row %d (%s): message columns are not null: %+v", i, e.Type, r)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

var lastPositionLine = regexp.MustCompile(`(?m)^last position: (\S+)$`)

// The whole journey of an analyst: 50k events exported through the real server's API to JSONL
// and to Parquet, each read back (protojson, parquet-go) and compared field by field with what
// ListEvents answers; an export interrupted half-way and continued with the position it
// printed, with no gap and no duplicate; the stopped server's folder exported read-only (and
// refused while the server holds it); bad flags named.
func TestEventsExport(t *testing.T) {
	const key = "sb_cli_export_key_0123456789abcdef"
	n := exportEventCount()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, Listen: "127.0.0.1:0", BootstrapKey: key,
		Roles: []string{"api", "ingest", "projector"}, ShutdownTimeout: 5 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = s.Shutdown(context.Background())
		}
	}()
	api := "http://" + s.Addr
	client := switchboardv1connect.NewEventServiceClient(http.DefaultClient, api)

	// The team is the key of its team.created event.
	var team string
	for _, e := range listAll(t, client, key) {
		if e.Type == domain.TypeTeamCreated {
			team = e.Key
		}
	}
	if team == "" {
		t.Fatal("no team.created event")
	}
	// Fill the log directly (batches of 1000, as the ingest path commits them): n events of
	// 500 prospects.
	start := time.Now().UTC().Add(-time.Duration(n) * time.Second).Truncate(time.Second)
	for i := 0; i < n; i += 1000 {
		var events []domain.Event
		for j := i; j < min(n, i+1000); j++ {
			user := fmt.Sprintf("user-%d", j%500)
			sent := start.Add(time.Duration(j)*time.Second + 123456789)
			pmid := fmt.Sprintf("m-%d", j)
			p := domain.MessageReceived{
				MessageID:  domain.MessageID(team, domain.PlatformAPI, "acl_export", pmid),
				ThreadID:   domain.ThreadID(team, domain.PlatformAPI, "acl_export", user),
				ProspectID: domain.ProspectID(team, domain.PlatformAPI, user), AccountLinkID: "acl_export",
				Platform: domain.PlatformAPI, PlatformMessageID: pmid, PlatformConversationID: user,
				Direction: domain.Inbound, Prospect: domain.Participant{PlatformID: user, Username: user},
				Text: fmt.Sprintf("message %d from %s: ünïcode, \"quotes\"\nand a newline", j, user), SentAt: sent,
			}
			// One event in 10 a message (what the projectors work hardest on: they run
			// meanwhile), the others thread.read, so that 50k events stay quick to seed.
			if j%10 == 0 {
				events = append(events, domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: team, Key: p.ProspectID,
					OccurredAt: sent, RecordedAt: sent, Actor: domain.ActorPlatform(domain.PlatformAPI), Origin: domain.OriginWebhook,
					CorrelationID: "corr-" + pmid, Payload: p})
				continue
			}
			events = append(events, domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: team, Key: p.ProspectID,
				OccurredAt: sent, RecordedAt: sent, Actor: "member:mem_x", Origin: domain.OriginAPI,
				CausationID: "evt_cause_" + pmid, Payload: domain.ThreadRead{ThreadID: p.ThreadID, ProspectID: p.ProspectID}})
		}
		if _, err := s.EventLog().Append(ctx, events); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	want := listAll(t, client, key)
	if len(want) < n {
		t.Fatalf("ListEvents answered %d events, want at least %d", len(want), n)
	}
	out := t.TempDir()
	apiArgs := []string{"events", "export", "--api", api}
	keyEnv := env(map[string]string{"SWITCHBOARD_API_KEY": key})

	t.Run("jsonl", func(t *testing.T) {
		path := filepath.Join(out, "events.jsonl")
		var stdout, stderr bytes.Buffer
		if err := run(append(apiArgs, "--format", "jsonl", "--out", path), keyEnv, &stdout, &stderr); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		got := readJSONL(t, path)
		if len(got) != len(want) {
			t.Fatalf("%d events exported, ListEvents has %d", len(got), len(want))
		}
		for i := range want {
			if !sameEvent(t, s, team, got[i], want[i]) {
				t.Fatalf("event %d differs:\n got %v\nwant %v", i, got[i], want[i])
			}
		}
		m := lastPositionLine.FindStringSubmatch(stdout.String())
		if m == nil || m[1] != got[len(got)-1].Position || !strings.Contains(stdout.String(), fmt.Sprintf("exported %d events", len(want))) {
			t.Errorf("the report does not end with the file's last position:\n%s", stdout.String())
		}
		// Another run onto the same file without --after-position changes nothing.
		before, _ := os.ReadFile(path)
		err := run(append(apiArgs, "--format", "jsonl", "--out", path), keyEnv, &stdout, &stderr)
		if after, _ := os.ReadFile(path); err == nil || !strings.Contains(err.Error(), "--after-position") || !bytes.Equal(before, after) {
			t.Errorf("exporting onto an existing file: %v (file changed: %v)", err, !bytes.Equal(before, after))
		}
	})

	t.Run("parquet", func(t *testing.T) {
		path := filepath.Join(out, "events.parquet")
		var stdout, stderr bytes.Buffer
		if err := run(append(apiArgs, "--api-key", key, "--format", "parquet", "--out", path), env(nil), &stdout, &stderr); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		rows := readParquet(t, path)
		if len(rows) != len(want) {
			t.Fatalf("%d rows, ListEvents has %d events", len(rows), len(want))
		}
		for i := range want {
			checkParquetRow(t, s, team, i, rows[i], want[i])
		}
		if entries, _ := filepath.Glob(filepath.Join(out, ".*partial")); len(entries) > 0 {
			t.Errorf("temporary files left: %v", entries)
		}
	})

	// An export stopped after some pages (as by Ctrl-C) keeps what it wrote, prints the last
	// position, and continues from it.
	t.Run("interrupted and resumed", func(t *testing.T) {
		for _, format := range []string{"jsonl", "parquet"} {
			first := filepath.Join(out, "part-1."+format)
			cctx, stop := context.WithCancel(context.Background())
			var stdout, stderr bytes.Buffer
			o := exportOptions{api: api, apiKey: key, format: format, out: first, pageSize: 1000, pageTimeout: time.Minute,
				afterPage: func(written int64) {
					if written >= int64(len(want)/3) {
						stop()
					}
				}}
			err := exportEvents(cctx, o, &stdout, &stderr)
			stop()
			if err == nil || !strings.Contains(err.Error(), "interrupted") {
				t.Fatalf("%s: interrupted export: %v", format, err)
			}
			m := lastPositionLine.FindStringSubmatch(stdout.String())
			if m == nil || !strings.Contains(stdout.String(), "continue it with --after-position "+m[1]) {
				t.Fatalf("%s: no resume position in:\n%s", format, stdout.String())
			}
			second := first
			if format == "parquet" {
				second = filepath.Join(out, "part-2.parquet")
				// Parquet is not appended: the same file is refused, unchanged.
				if err := run(append(apiArgs, "--format", format, "--out", first, "--after-position", m[1]), keyEnv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "not appended") {
					t.Errorf("resuming into the same Parquet file: %v", err)
				}
			} else {
				// A wrong position for this file is refused: it would leave a gap.
				if err := run(append(apiArgs, "--format", format, "--out", first, "--after-position", want[10].Position), keyEnv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "ends with the event at position") {
					t.Errorf("resuming a JSONL file from another position: %v", err)
				}
			}
			stdout.Reset()
			if err := run(append(apiArgs, "--format", format, "--out", second, "--after-position", m[1]), keyEnv, &stdout, &stderr); err != nil {
				t.Fatalf("%s: resume: %v\n%s", format, err, stderr.String())
			}
			var ids []string
			if format == "jsonl" {
				for _, e := range readJSONL(t, first) {
					ids = append(ids, e.EventId)
				}
			} else {
				firstRows := readParquet(t, first)
				if len(firstRows) == 0 || len(firstRows) == len(want) {
					t.Fatalf("the interrupted Parquet file has %d rows of %d", len(firstRows), len(want))
				}
				for _, r := range append(firstRows, readParquet(t, second)...) {
					ids = append(ids, r.EventID)
				}
			}
			if len(ids) != len(want) {
				t.Fatalf("%s: %d events after the resume, want %d", format, len(ids), len(want))
			}
			for i := range want {
				if ids[i] != want[i].EventId {
					t.Fatalf("%s: event %d is %s, want %s (a gap or a duplicate at the resume)", format, i, ids[i], want[i].EventId)
				}
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		from, to := start.Add(1000*time.Second), start.Add(3000*time.Second)
		path := filepath.Join(out, "filtered.jsonl")
		var stdout, stderr bytes.Buffer
		if err := run(append(apiArgs, "--types", domain.TypeThreadRead, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--out", path), keyEnv, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		var wantIDs, gotIDs []string
		for _, e := range want {
			if at := e.OccurredAt.AsTime(); e.Type == domain.TypeThreadRead && !at.Before(from) && at.Before(to) {
				wantIDs = append(wantIDs, e.EventId)
			}
		}
		for _, e := range readJSONL(t, path) {
			gotIDs = append(gotIDs, e.EventId)
		}
		if len(wantIDs) == 0 || !reflect.DeepEqual(gotIDs, wantIDs) {
			t.Errorf("filtered export: %d events, want %d", len(gotIDs), len(wantIDs))
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"--api", api, "--format", "csv", "--out", "x"}, "--format: \"csv\" is not jsonl or parquet"},
			{[]string{"--api", api, "--out", "x", "--from", "2026-11-02", "--to", "2026-11-01"}, "is not before --to"},
			{[]string{"--api", api, "--out", "x", "--from", "yesterday"}, "--from: \"yesterday\""},
			{[]string{"--api", api, "--out", "x"}, "--api-key: required"},
			{[]string{"--api-key", key, "--out", "x"}, "no source"},
			{[]string{"--api", api, "--api-key", key}, "--out: required"},
			{[]string{"--api", api, "--api-key", key, "--format", "parquet", "--out", "-"}, "only JSONL goes to stdout"},
			{[]string{"--data-dir", dir, "--out", "x", "--after-position", "abc"}, "--after-position: with --data-dir"},
			{[]string{"--api", api, "--api-key", key, "--out", filepath.Join(out, "bad.jsonl"), "--after-position", "0-42"}, "raw log positions"},
		}
		for _, c := range cases {
			var stdout, stderr bytes.Buffer
			err := run(append([]string{"events", "export"}, c.args...), env(nil), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v: %v, want an error saying %q", c.args, err, c.want)
			}
		}
		if _, err := os.Stat(filepath.Join(out, "bad.jsonl")); !os.IsNotExist(err) {
			t.Errorf("a refused export left its file: %v", err)
		}
	})

	// The data folder of the running server is refused, naming the process that holds it.
	var stdout, stderr bytes.Buffer
	err = run([]string{"events", "export", "--data-dir", dir, "--out", filepath.Join(out, "dd.jsonl")}, env(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("in use by pid %d", os.Getpid())) {
		t.Errorf("--data-dir of a running server: %v", err)
	}

	positions := s.Positions() // still decodes tokens once the server is stopped
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped = true

	t.Run("data-dir", func(t *testing.T) {
		path := filepath.Join(out, "dd.jsonl")
		var stdout, stderr bytes.Buffer
		if err := run([]string{"events", "export", "--data-dir", dir, "--team", team, "--out", path}, env(nil), &stdout, &stderr); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		got := readJSONL(t, path)
		if len(got) != len(want) {
			t.Fatalf("%d events from the folder, ListEvents had %d", len(got), len(want))
		}
		for i := range want {
			g, w := proto.Clone(got[i]).(*v1.Event), proto.Clone(want[i]).(*v1.Event)
			if g.Position != fmt.Sprintf("0-%d", mustCursor(t, positions, team, w.Position)) {
				t.Fatalf("event %d: position %s, want the log position of %s", i, g.Position, w.EventId)
			}
			g.Position, w.Position = "", ""
			if !proto.Equal(g, w) {
				t.Fatalf("event %d differs:\n got %v\nwant %v", i, g, w)
			}
		}
		// Parquet from the folder, continued after a position, carries the team.
		pq := filepath.Join(out, "dd.parquet")
		if err := run([]string{"events", "export", "--data-dir", dir, "--format", "parquet", "--out", pq, "--after-position", got[99].Position}, env(nil), &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		rows := readParquet(t, pq)
		if len(rows) != len(want)-100 || rows[0].EventID != want[100].EventId || deref(rows[0].TeamID) != team {
			t.Errorf("parquet from the folder after the 100th event: %d rows, first %s of team %s", len(rows), rows[0].EventID, deref(rows[0].TeamID))
		}
		// The folder is as it was: no lock taken for good, the server starts again.
		s2, err := server.Start(context.Background(), server.Config{DataDir: dir, Listen: "127.0.0.1:0", Roles: []string{"api", "ingest", "projector"}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("the server does not start on the exported folder: %v", err)
		}
		_ = s2.Shutdown(context.Background())
	})
}

// mustCursor is the log offset a position token of the team names (one partition).
func mustCursor(t *testing.T, p *connectrpc.Positions, team, token string) int64 {
	t.Helper()
	c, err := p.Decode(team, "position", token)
	if err != nil || len(c) != 1 {
		t.Fatalf("position %q: %v", token, err)
	}
	return c[0]
}

// A JSONL export killed mid-line is continued from its last whole line: the torn line is not
// counted (it is cut off when the export continues), and a file without a whole line has none.
func TestLastJSONLPosition(t *testing.T) {
	dir := t.TempDir()
	line := func(pos string) string {
		b, _ := protojson.Marshal(&v1.Event{Position: pos, EventId: "evt_" + pos, Type: "thread.read.v1"})
		return string(b) + "\n"
	}
	big := strings.Repeat("x", 200<<10) // lines longer than one read chunk
	cases := []struct {
		content, want string
		whole         int
	}{
		{line("p1") + line("p2"), "p2", len(line("p1") + line("p2"))},
		{line("p1") + line("p2") + `{"position":"p3","ev`, "p2", len(line("p1") + line("p2"))},
		{line("p1"), "p1", len(line("p1"))},
		{`{"position":"p1"`, "", 0},
		{line(big+"a") + line(big+"b") + big, big + "b", len(line(big+"a") + line(big+"b"))},
	}
	for i, c := range cases {
		path := filepath.Join(dir, fmt.Sprintf("%d.jsonl", i))
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		pos, whole, err := lastJSONLPosition(path)
		if err != nil || pos != c.want || whole != int64(c.whole) {
			t.Errorf("case %d: %.20q, %d, %v; want %.20q, %d", i, pos, whole, err, c.want, c.whole)
		}
	}
	path := filepath.Join(dir, "garbage.jsonl")
	_ = os.WriteFile(path, []byte("not json\n"), 0o644)
	if _, _, err := lastJSONLPosition(path); err == nil || !strings.Contains(err.Error(), "not an exported event") {
		t.Errorf("a file of something else: %v", err)
	}
}
