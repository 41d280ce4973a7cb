package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/eventlog"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// jsonCall posts body to procedure over Connect JSON (the curl path) with extra headers, and
// returns the status and the decoded body.
func jsonCall(t *testing.T, addr, procedure, body string, headers map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+procedure, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminKey)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %d %s: not JSON", procedure, res.StatusCode, b)
	}
	return res.StatusCode, out
}

// TestConsistencyToken: IngestMessage answers once the message is durable, before the read
// model and the search index apply it; a client that sends the answered position back in
// Switchboard-Consistency-Token reads its own write, every time, on both engines.
func TestConsistencyToken(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.start(t, t.TempDir())
			a := api{t, newConnectClient(s.Addr), adminKey}
			link := a.link(v1.Platform_PLATFORM_API, "token-shop")

			for i := range 25 {
				word := fmt.Sprintf("zebra%03d", i)
				body := fmt.Sprintf(`{"account_link_id":%q,"platform_message_id":"m-%d","direction":"DIRECTION_INBOUND",
					"participant":{"platform_id":"cust-%d"},"text":"about the %s order"}`, link.Id, i, i, word)
				code, ing := jsonCall(t, s.Addr, "/switchboard.v1.IngestService/IngestMessage", body, nil)
				pos, _ := ing["position"].(string)
				if code != 200 || pos == "" {
					t.Fatalf("IngestMessage %d: %d %v, want 200 with a position", i, code, ing)
				}
				tok := map[string]string{"Switchboard-Consistency-Token": pos}
				code, got := jsonCall(t, s.Addr, "/switchboard.v1.ThreadService/GetThread",
					fmt.Sprintf(`{"thread_id":%q}`, ing["threadId"]), tok)
				if code != 200 {
					t.Fatalf("GetThread right after IngestMessage %d with its token: %d %v", i, code, got)
				}
				if th, _ := got["thread"].(map[string]any); th["lastMessageText"] != "about the "+word+" order" {
					t.Fatalf("GetThread right after IngestMessage %d with its token: %v, want its message", i, got)
				}
				code, hits := jsonCall(t, s.Addr, "/switchboard.v1.SearchService/SearchMessages",
					fmt.Sprintf(`{"query":%q}`, word), tok)
				if code != 200 || fmt.Sprint(hits["total"]) != "1" {
					t.Fatalf("SearchMessages %q right after IngestMessage %d with its token: %d %v, want the one hit", word, i, code, hits)
				}
			}

			// A token the read model has not reached (made with the server's own codec: no
			// client can make one): the call waits for it, and ends with the caller's deadline
			// rather than answering without the write. The error names no position.
			teamID := ""
			for _, e := range a.events() {
				if e.Type == "team.created.v1" {
					teamID = e.Key
				}
			}
			beyond := s.Positions().Encode(teamID, eventlog.Cursor{0: 999_999_999})
			code, got := jsonCall(t, s.Addr, "/switchboard.v1.ThreadService/ListThreads", `{}`,
				map[string]string{"Switchboard-Consistency-Token": beyond, "Connect-Timeout-Ms": "300"})
			if msg, _ := got["message"].(string); code == 200 || got["code"] != "deadline_exceeded" || strings.Contains(msg, "999999999") {
				t.Errorf("ListThreads with a position beyond the log and a 300ms deadline: %d %v, want deadline_exceeded", code, got)
			}

			// Raw positions, the form before tokens, are refused: they would let a team probe
			// the log's global offsets.
			for _, bad := range []string{"yesterday", "0-", "-1-5", ",", "0-1", "0-999999999"} {
				code, got := jsonCall(t, s.Addr, "/switchboard.v1.ThreadService/ListThreads", `{}`,
					map[string]string{"Switchboard-Consistency-Token": bad})
				msg, _ := got["message"].(string)
				if code != 400 || got["code"] != "invalid_argument" || !strings.Contains(msg, "Switchboard-Consistency-Token") {
					t.Errorf("token %q: %d %v, want invalid_argument naming the header", bad, code, got)
				}
			}
			// Without a key, a token changes nothing: still Unauthenticated, nothing waited on.
			req, _ := http.NewRequest("POST", "http://"+s.Addr+"/switchboard.v1.ThreadService/ListThreads", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Switchboard-Consistency-Token", beyond)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 401 {
				t.Errorf("ListThreads with a token and no key: %d, want 401", res.StatusCode)
			}
		})
	}
}
