package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// api is a typed view of one client acting with one key.
type api struct {
	t   *testing.T
	c   client
	key string
}

func (a api) as(key string) api { return api{a.t, a.c, key} }

// call invokes a procedure and fails the test on error.
func call[Res any, PRes interface {
	*Res
	proto.Message
}](a api, procedure string, req proto.Message) PRes {
	a.t.Helper()
	res := PRes(new(Res))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.c.invoke(ctx, a.key, procedure, req, res); err != nil {
		a.t.Fatalf("%s %s: %v", a.c.name(), procedure, err)
	}
	return res
}

// try invokes a procedure and returns its error.
func (a api) try(procedure string, req, res proto.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return a.c.invoke(ctx, a.key, procedure, req, res)
}

func (a api) link(p v1.Platform, platformID string) *v1.AccountLink {
	a.t.Helper()
	return call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount",
		&v1.LinkAccountRequest{Platform: p, PlatformId: platformID, DisplayName: "Account " + platformID,
			Credentials: map[string]string{"access_token": "secret-token-" + platformID}}).AccountLink
}

type msg struct {
	link, prospect, id string
	dir                v1.Direction
	text               string
	at                 time.Time
}

func (a api) ingest(m msg) *v1.IngestMessageResponse {
	a.t.Helper()
	return call[v1.IngestMessageResponse](a, "/switchboard.v1.IngestService/IngestMessage", &v1.IngestMessageRequest{
		AccountLinkId: m.link, PlatformMessageId: m.id, Direction: m.dir,
		Participant: &v1.Participant{PlatformId: m.prospect, Username: m.prospect, DisplayName: "Name " + m.prospect},
		Text:        m.text, SentAt: timestamppb.New(m.at),
	})
}

func (a api) threads(req *v1.ListThreadsRequest) []*v1.Thread {
	a.t.Helper()
	var all []*v1.Thread
	for {
		res := call[v1.ListThreadsResponse](a, "/switchboard.v1.ThreadService/ListThreads", req)
		all = append(all, res.Threads...)
		if res.NextPageToken == "" {
			return all
		}
		req = proto.Clone(req).(*v1.ListThreadsRequest)
		req.PageToken = res.NextPageToken
	}
}

func (a api) thread(id string) *v1.Thread {
	a.t.Helper()
	return call[v1.GetThreadResponse](a, "/switchboard.v1.ThreadService/GetThread", &v1.GetThreadRequest{ThreadId: id}).Thread
}

func (a api) prospect(id string) *v1.Prospect {
	a.t.Helper()
	return call[v1.GetProspectResponse](a, "/switchboard.v1.ProspectService/GetProspect", &v1.GetProspectRequest{ProspectId: id}).Prospect
}

func (a api) messages(threadID string, pageSize int32) []*v1.Message {
	a.t.Helper()
	var all []*v1.Message
	req := &v1.ListMessagesRequest{ThreadId: threadID, PageSize: pageSize}
	for {
		res := call[v1.ListMessagesResponse](a, "/switchboard.v1.ThreadService/ListMessages", req)
		all = append(all, res.Messages...)
		if res.NextPageToken == "" {
			return all
		}
		req = &v1.ListMessagesRequest{ThreadId: threadID, PageSize: pageSize, PageToken: res.NextPageToken}
	}
}

// events lists the team's whole event history.
func (a api) events() []*v1.Event {
	a.t.Helper()
	var all []*v1.Event
	after := ""
	for {
		res := call[v1.ListEventsResponse](a, "/switchboard.v1.EventService/ListEvents", &v1.ListEventsRequest{AfterPosition: after, PageSize: 1000})
		all = append(all, res.Events...)
		if len(res.Events) == 0 {
			return all
		}
		after = res.NextPosition
	}
}

func ids(threads []*v1.Thread) []string {
	out := make([]string, len(threads))
	for i, t := range threads {
		out[i] = t.Id
	}
	return out
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := map[string]int{}, map[string]int{}
	for _, id := range got {
		g[id]++
	}
	for _, id := range want {
		w[id]++
	}
	for id, n := range g {
		if n > 1 {
			t.Errorf("%s: %s listed %d times", what, id, n)
		}
		if w[id] == 0 {
			t.Errorf("%s: unexpected %s", what, id)
		}
	}
	for id := range w {
		if g[id] == 0 {
			t.Errorf("%s: missing %s", what, id)
		}
	}
}

func wantCode(t *testing.T, what string, err error, code connect.Code) {
	t.Helper()
	if got := codeOf(err); got != code {
		t.Errorf("%s: code %v (%v), want %v", what, got, err, code)
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func pid(i int) string { return fmt.Sprintf("user-%03d", i) }
