package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// fillDisk writes a ballast file in dir until the disk is full, then gives back `leave` bytes.
func fillDisk(t *testing.T, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	var size int64
	for {
		n, err := f.Write(chunk)
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(max(size-leave, 0)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiskFull: with the data folder on a small disk that fills during ingest, the API stays
// up and answers Unavailable (never OK for what it did not write); once space is freed,
// ingest, projection and search resume by themselves, and every message a client sent (and
// retried until acknowledged) is there exactly once: in the log, the inbox and search.
func TestDiskFull(t *testing.T) {
	dir := testenv.SmallDisk(t, 48)
	s := startServer(t, dir)
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := a.link(v1.Platform_PLATFORM_API, "disk-full").Id
	fresh := func() api { return api{t, newConnectClient(s.Addr), adminKey} } // no consistency token
	// Without a consistency token: a token would make each call wait for the stalled read model.
	ingest := func(i int) error {
		res := &v1.IngestMessageResponse{}
		return fresh().try("/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{
			AccountLinkId: link, PlatformMessageId: fmt.Sprintf("m-%05d", i), Direction: v1.Direction_DIRECTION_INBOUND,
			Participant: &v1.Participant{PlatformId: pid(i % 10)},
			Text:        fmt.Sprintf("needle number%d %s", i, strings.Repeat("lorem ipsum dolor ", 60)),
			SentAt:      timestamppb.New(at(i)),
		}, res)
	}

	ballast := fillDisk(t, dir, 3<<20)
	var refused []int
	sent := 0
	for ; sent < 20000 && len(refused) < 20; sent++ {
		err := ingest(sent)
		switch codeOf(err) {
		case 0:
		case connect.CodeUnavailable:
			refused = append(refused, sent)
		default:
			t.Fatalf("ingest %d on a full disk: %v (want ok or unavailable)", sent, err)
		}
	}
	if len(refused) == 0 {
		t.Fatalf("the disk never filled after %d messages", sent)
	}
	t.Logf("disk full after %d acknowledged messages", sent-len(refused))

	// The API is up while the disk is full.
	res, err := http.Get("http://" + s.Addr + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/healthz on a full disk: %v %v", res, err)
	}
	res.Body.Close()
	res, err = http.Get("http://" + s.Addr + "/readyz")
	if err != nil {
		t.Fatalf("/readyz on a full disk: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var ready map[string]any
	if err := json.Unmarshal(body, &ready); err != nil {
		t.Fatalf("/readyz on a full disk: %d %s", res.StatusCode, body)
	}
	t.Logf("/readyz on a full disk: %d %s", res.StatusCode, body)
	if err := fresh().try("/switchboard.v1.ThreadService/ListThreads", &v1.ListThreadsRequest{View: v1.View_VIEW_ALL},
		&v1.ListThreadsResponse{}); err != nil && codeOf(err) != connect.CodeUnavailable {
		t.Fatalf("ListThreads on a full disk: %v", err)
	}

	// Space returns: the client retries what was refused, then goes on.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, i := range refused {
		for {
			err := ingest(i)
			if err == nil {
				break
			}
			if codeOf(err) != connect.CodeUnavailable || time.Now().After(deadline) {
				t.Fatalf("ingest %d after space returned: %v", i, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i := sent; i < sent+10; i++ {
		if err := ingest(i); err != nil {
			t.Fatalf("ingest %d after space returned: %v", i, err)
		}
	}
	want := int64(sent + 10)

	// Everything is projected and searchable, exactly once.
	eventually := func(what string, get func() (int64, error)) {
		t.Helper()
		var got int64
		var err error
		for time.Now().Before(deadline.Add(60 * time.Second)) {
			if got, err = get(); err == nil && got == want {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s: %d (err %v), want %d", what, got, err, want)
	}
	eventually("messages in the inbox", func() (int64, error) {
		r := &v1.ListThreadsResponse{}
		if err := fresh().try("/switchboard.v1.ThreadService/ListThreads", &v1.ListThreadsRequest{View: v1.View_VIEW_ALL, PageSize: 100}, r); err != nil {
			return 0, err
		}
		var n int64
		for _, th := range r.Threads {
			n += int64(th.MessageCount)
		}
		return n, nil
	})
	eventually("messages found by search", func() (int64, error) {
		r := &v1.SearchMessagesResponse{}
		err := fresh().try("/switchboard.v1.SearchService/SearchMessages", &v1.SearchMessagesRequest{Query: "needle"}, r)
		return r.Total, err
	})
	eventually("message.received events in the log", func() (int64, error) {
		var n int64
		after := ""
		for {
			r := &v1.ListEventsResponse{}
			if err := fresh().try("/switchboard.v1.EventService/ListEvents", &v1.ListEventsRequest{
				AfterPosition: after, Types: []string{"message.received.v1"}, PageSize: 1000}, r); err != nil {
				return 0, err
			}
			n += int64(len(r.Events))
			if len(r.Events) == 0 {
				return n, nil
			}
			after = r.NextPosition
		}
	})
	res, err = http.Get("http://" + s.Addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.Contains(string(body), "degraded") {
		t.Fatalf("/readyz once space returned: %d %s", res.StatusCode, body)
	}
}
