package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// TestFieldLimitsAndEnums: over Connect JSON, as curl sends it, an unknown enum name, a value
// of the wrong JSON type, a string or list over its documented limit are refused with
// invalid_argument naming the field, without Go type names, quoting at most a short prefix of
// the input, and appending nothing; unknown fields are still ignored. Over gRPC an unknown enum
// number is refused the same way.
func TestFieldLimitsAndEnums(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	a := api{t, newConnectClient(s.Addr), adminKey}
	acc := a.link(v1.Platform_PLATFORM_API, "limits").Id
	eventsBefore := len(a.events())

	post := func(proc, body string, headers ...string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+s.Addr+"/switchboard.v1."+proc, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adminKey)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		return res.StatusCode, e.Code, e.Message
	}
	ingest := func(extra string) string {
		return `{"accountLinkId":"` + acc + `","platformMessageId":"lim-1","direction":"DIRECTION_INBOUND",
			"participant":{"platformId":"p-1"},"text":"hi"` + extra + `}`
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	attachments := func(n int) string {
		var items []string
		for range n {
			items = append(items, `{"type":"image","url":"https://example.com/a.png"}`)
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	cases := []struct {
		name, proc, body string
		headers          []string
		field            string // the message names it; "" for none
	}{
		{"unknown platform name", "ThreadService/ListThreads", `{"view":"VIEW_ALL","platform":"PLATFORM_BOGUS"}`, nil, "platform"},
		{"unknown view name", "ThreadService/ListThreads", `{"view":"VIEW_EVERYTHING"}`, nil, "view"},
		{"unknown view number", "ThreadService/ListThreads", `{"view":99}`, nil, "view"},
		{"unknown direction in search", "SearchService/SearchMessages", `{"query":"x","direction":"DIRECTION_SIDEWAYS"}`, nil, "direction"},
		{"unknown nested enum", "IngestService/IngestMessage", ingest(`,"attachments":[{"type":"image"}],"direction":"INBOUND"`), nil, "direction"},
		{"number as string field", "IngestService/IngestMessage", ingest(`,"platformConversationId":5`), nil, "platform_conversation_id"},
		{"bool as number field", "ThreadService/ListThreads", `{"pageSize":true}`, nil, "page_size"},
		{"object as enum", "ThreadService/ListThreads", `{"view":{}}`, nil, "view"},
		{"string as list", "EventService/ListEvents", `{"types":"message.received.v1"}`, nil, "types"},
		{"nested wrong type", "IngestService/IngestMessage", `{"participant":{"platformId":["p"]}}`, nil, "participant.platform_id"},
		{"not JSON", "ThreadService/ListThreads", `{"view":`, nil, ""},
		{"reply_to_platform_message_id too long", "IngestService/IngestMessage", ingest(`,"replyToPlatformMessageId":"` + long(100_000) + `"`), nil, "reply_to_platform_message_id"},
		{"text too long", "IngestService/IngestMessage", ingest(`,"text":"` + long(70_000) + `"`), nil, "text"},
		{"too many attachments", "IngestService/IngestMessage", ingest(`,"attachments":` + attachments(21)), nil, "attachments"},
		{"participant name too long", "IngestService/IngestMessage", `{"accountLinkId":"` + acc + `","platformMessageId":"lim-2",
			"direction":"DIRECTION_INBOUND","participant":{"platformId":"p","displayName":"` + long(600) + `"}}`, nil, "participant.display_name"},
		{"too many event types", "EventService/ListEvents", `{"types":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 51), ",") + `]}`, nil, "types"},
		{"huge consistency token", "ThreadService/ListThreads", `{}`, []string{connectrpc.ConsistencyHeader, long(100_000)}, ""},
		{"huge page token", "ThreadService/ListThreads", `{"pageToken":"` + long(100_000) + `"}`, nil, "page_token"},
	}
	for _, c := range cases {
		status, code, msg := post(c.proc, c.body, c.headers...)
		t.Logf("%s: %d %s", c.name, status, msg)
		switch {
		case status != 400 || code != "invalid_argument":
			t.Errorf("%s: %d %s %q, want 400 invalid_argument", c.name, status, code, msg)
		case c.field != "" && !strings.Contains(msg, c.field):
			t.Errorf("%s: %q does not name %s", c.name, msg, c.field)
		case strings.Contains(msg, "*v1.") || strings.Contains(msg, "Request") || strings.Contains(msg, "unmarshal into"):
			t.Errorf("%s: %q shows Go type names", c.name, msg)
		case len(msg) > 400:
			t.Errorf("%s: a %d-byte message echoes the input", c.name, len(msg))
		}
	}
	if got := len(a.events()); got != eventsBefore {
		t.Errorf("%d events appended by refused requests", got-eventsBefore)
	}

	// Unknown fields are ignored: a newer client works with this server.
	if status, code, msg := post("ThreadService/ListThreads", `{"view":"VIEW_ALL","futureFilter":{"x":1}}`); status != 200 {
		t.Errorf("an unknown field: %d %s %s", status, code, msg)
	}
	// Known names and numbers of enums still work, as do limits exactly reached.
	if status, code, msg := post("ThreadService/ListThreads", `{"view":5,"platform":"PLATFORM_API"}`); status != 200 {
		t.Errorf("valid enums: %d %s %s", status, code, msg)
	}
	if status, code, msg := post("IngestService/IngestMessage", ingest(`,"replyToPlatformMessageId":"`+long(512)+`","attachments":`+attachments(20))); status != 200 {
		t.Errorf("at the limits: %d %s %s", status, code, msg)
	}

	// gRPC (binary): an enum number the API does not define is refused too.
	g := api{t, newGRPCClient(t, s.Addr), adminKey}
	err := g.try(listThreads, &v1.ListThreadsRequest{View: v1.View(42)}, &v1.ListThreadsResponse{})
	if codeOf(err) != connect.CodeInvalidArgument || !strings.Contains(messageOf(err), "view") {
		t.Errorf("gRPC unknown enum number: %v", err)
	}
}
