package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

const ingestSvc = "/switchboard.v1.IngestService/"

func batchMsg(link, prospect, id, text string) *v1.IngestMessageRequest {
	return &v1.IngestMessageRequest{AccountLinkId: link, PlatformMessageId: id, Direction: v1.Direction_DIRECTION_INBOUND,
		Participant: &v1.Participant{PlatformId: prospect}, Text: text, SentAt: timestamppb.New(at(1))}
}

// messageEvents counts the team's message.received events by platform message id.
func messageEvents(a api) map[string]int {
	got := map[string]int{}
	for _, e := range a.events() {
		if e.Type == "message.received.v1" {
			got[e.Data.GetFields()["platform_message_id"].GetStringValue()]++
		}
	}
	return got
}

// A batch of good, bad and duplicate messages: exact results in request order, and exactly the
// good messages in the log, once each.
func TestIngestMessagesMixedBatch(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.start(t, t.TempDir())
			a := api{t, newConnectClient(s.Addr), adminKey}
			shop := a.link(v1.Platform_PLATFORM_API, "batch-shop")
			other := a.link(v1.Platform_PLATFORM_API, "batch-other")
			unknown := "acc_" + strings.Repeat(string(shop.Id[4]), 26) // well formed, not linked
			before := a.ingest(msg{shop.Id, "ana", "m-old", v1.Direction_DIRECTION_INBOUND, "earlier", at(0)})

			noText := batchMsg(shop.Id, "bo", "m-bad-text", "")
			longID := batchMsg(shop.Id, "bo", "m-long", "hi")
			longID.Participant.Username = strings.Repeat("u", 600) // over the 512-character limit
			req := &v1.IngestMessagesRequest{Messages: []*v1.IngestMessageRequest{
				batchMsg(shop.Id, "ana", "m-1", "one"), // 0 new
				noText,                                 // 1 no text: refused
				batchMsg(shop.Id, "ana", "m-old", "earlier"), // 2 recorded before: duplicate
				batchMsg(other.Id, "cy", "m-2", "two"),       // 3 new, another link
				batchMsg(unknown, "cy", "m-3", "three"),      // 4 unknown link: refused
				batchMsg(shop.Id, "ana", "m-1", "one"),       // 5 repeat within the batch: duplicate
				{AccountLinkId: shop.Id, PlatformMessageId: "m-4", Text: "x", Participant: &v1.Participant{PlatformId: "bo"}}, // 6 no direction
				longID,                                 // 7 over a field limit
				batchMsg(shop.Id, "bo", "m-5", "five"), // 8 new
			}}
			res := call[v1.IngestMessagesResponse](a, ingestSvc+"IngestMessages", req)
			if len(res.Results) != len(req.Messages) {
				t.Fatalf("%d results for %d messages", len(res.Results), len(req.Messages))
			}
			for i, r := range res.Results {
				if r.Index != int32(i) {
					t.Errorf("results[%d] has index %d", i, r.Index)
				}
			}
			wantErr := map[int]struct{ code, field string }{
				1: {"invalid_argument", "messages[1].text"},
				4: {"not_found", ""},
				6: {"invalid_argument", "messages[6].direction"},
				7: {"invalid_argument", "messages[7].participant.username"},
			}
			for i, r := range res.Results {
				w, bad := wantErr[i]
				if !bad {
					if r.Error != nil || r.MessageId == "" {
						t.Errorf("messages[%d]: %v, want a message", i, r)
					}
					continue
				}
				if r.Error == nil || r.MessageId != "" {
					t.Errorf("messages[%d]: %v, want refused", i, r)
					continue
				}
				if r.Error.Code != w.code || r.Error.Field != w.field || !strings.Contains(r.Error.Message, fmt.Sprintf("messages[%d]", i)) {
					t.Errorf("messages[%d] refused with %v, want code %s field %q naming the index", i, r.Error, w.code, w.field)
				}
			}
			for i, dup := range map[int]bool{0: false, 2: true, 3: false, 5: true, 8: false} {
				if res.Results[i].Duplicate != dup {
					t.Errorf("messages[%d].duplicate = %v, want %v", i, res.Results[i].Duplicate, dup)
				}
			}
			if res.Results[2].MessageId != before.MessageId || res.Results[5].MessageId != res.Results[0].MessageId {
				t.Errorf("duplicates name %s and %s, want %s and %s", res.Results[2].MessageId, res.Results[5].MessageId, before.MessageId, res.Results[0].MessageId)
			}
			if res.Position == "" {
				t.Error("no consistency position for the batch")
			}

			got := messageEvents(a)
			want := map[string]int{"m-old": 1, "m-1": 1, "m-2": 1, "m-5": 1}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("message events in the log: %v, want %v", got, want)
			}
			// Read back with the batch's token: every good message is listed.
			th := call[v1.ListMessagesResponse](a, threadSvc+"ListMessages", &v1.ListMessagesRequest{ThreadId: res.Results[8].ThreadId})
			if len(th.Messages) != 1 || th.Messages[0].Id != res.Results[8].MessageId {
				t.Errorf("thread of messages[8] lists %v", th.Messages)
			}
		})
	}
}

// More than 500 messages is refused as a whole, naming the limit, and records nothing.
func TestIngestMessagesOverLimit(t *testing.T) {
	s := startServer(t, t.TempDir())
	a := api{t, newConnectClient(s.Addr), adminKey}
	shop := a.link(v1.Platform_PLATFORM_API, "limit-shop")
	req := &v1.IngestMessagesRequest{}
	for i := range 501 {
		req.Messages = append(req.Messages, batchMsg(shop.Id, pid(i), fmt.Sprintf("lim-%d", i), "hi"))
	}
	err := a.try(ingestSvc+"IngestMessages", req, &v1.IngestMessagesResponse{})
	wantCode(t, "501 messages", err, connect.CodeInvalidArgument)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "messages") {
		t.Errorf("the refusal %v does not name the limit", err)
	}
	err = a.try(ingestSvc+"IngestMessages", &v1.IngestMessagesRequest{}, &v1.IngestMessagesResponse{})
	wantCode(t, "no message", err, connect.CodeInvalidArgument)
	if got := messageEvents(a); len(got) != 0 {
		t.Errorf("refused batches recorded %v", got)
	}
	// 500 is accepted, all recorded.
	req.Messages = req.Messages[:500]
	res := call[v1.IngestMessagesResponse](a, ingestSvc+"IngestMessages", req)
	for i, r := range res.Results {
		if r.Error != nil || r.Duplicate {
			t.Fatalf("messages[%d]: %v", i, r)
		}
	}
	if got := messageEvents(a); len(got) != 500 {
		t.Errorf("%d messages recorded, want 500", len(got))
	}
}

// With a key cache that would trust a key for an hour, a key revoked or a member removed
// through the API is refused by the very next call: the cache learns it from the revoking
// append, not from its TTL.
func TestKeyCacheRevocationAtOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var s *server.Server
			if b.name == "embedded" {
				s = startServerWith(t, server.Config{DataDir: t.TempDir(), KeyCacheTTL: time.Hour})
			} else {
				pg := testenv.PostgresSchema(t)
				_, brokers := testenv.Kafka(t)
				s = startServerWith(t, server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers), KeyCacheTTL: time.Hour})
			}
			tm := newTeam(t, api{t, newConnectClient(s.Addr), adminKey})
			shop := tm.owner.link(v1.Platform_PLATFORM_API, "cache-shop")
			ingest := func(a api, id string) error {
				return a.try(ingestSvc+"IngestMessages", &v1.IngestMessagesRequest{Messages: []*v1.IngestMessageRequest{
					batchMsg(shop.Id, "ana", id, "hi")}}, &v1.IngestMessagesResponse{})
			}
			// Both keys work, and are now cached.
			for i, a := range []api{tm.agent, tm.agent2} {
				for j := range 3 {
					if err := ingest(a, fmt.Sprintf("warm-%d-%d", i, j)); err != nil {
						t.Fatalf("a valid key: %v", err)
					}
				}
			}
			call[v1.RevokeApiKeyResponse](tm.owner, teamSvc+"RevokeApiKey", &v1.RevokeApiKeyRequest{KeyId: tm.keyIDs["agent"]})
			wantCode(t, "the next call with a revoked key", ingest(tm.agent, "after-revoke"), connect.CodeUnauthenticated)
			wantCode(t, "a read with a revoked key", tm.agent.try(teamSvc+"ListTags", &v1.ListTagsRequest{}, &v1.ListTagsResponse{}), connect.CodeUnauthenticated)

			call[v1.RemoveMemberResponse](tm.admin, teamSvc+"RemoveMember", &v1.RemoveMemberRequest{MemberId: tm.ids["agent2"]})
			wantCode(t, "the next call of a removed member", ingest(tm.agent2, "after-remove"), connect.CodeUnauthenticated)

			// The others' keys still work, and nothing was recorded for the refused calls.
			if err := ingest(tm.admin, "still-ok"); err != nil {
				t.Errorf("the admin's key after the revocations: %v", err)
			}
			got := messageEvents(tm.owner)
			if got["after-revoke"] != 0 || got["after-remove"] != 0 || got["still-ok"] != 1 {
				t.Errorf("messages recorded: %v", got)
			}
		})
	}
}

// One Messenger delivery with many messages (several senders) goes through the same batched
// receive path: every message recorded once, and a redelivery records nothing more.
func TestWebhookManyMessages(t *testing.T) {
	s := startServer(t, t.TempDir())
	a := api{t, newConnectClient(s.Addr), adminKey}
	link := call[v1.LinkAccountResponse](a, "/switchboard.v1.AccountService/LinkAccount", &v1.LinkAccountRequest{
		Platform: v1.Platform_PLATFORM_MESSENGER, PlatformId: "page-77", DisplayName: "Page",
		Credentials: map[string]string{meta.CredAppSecret: "app-secret", meta.CredVerifyToken: "vt", meta.CredAccessToken: "EAA-token"},
	}).AccountLink
	var messaging []string
	for i := range 60 {
		messaging = append(messaging, fmt.Sprintf(`{"sender":{"id":"psid-%d"},"recipient":{"id":"page-77"},"timestamp":%d,"message":{"mid":"mid.many-%d","text":"hello %d"}}`,
			i%12, at(i).UnixMilli(), i, i))
	}
	body := []byte(`{"object":"page","entry":[{"id":"page-77","time":` + fmt.Sprint(at(60).UnixMilli()) + `,"messaging":[` + strings.Join(messaging, ",") + `]}]}`)
	deliver := func() {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr+link.WebhookPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(meta.SignatureHeader, meta.Sign(body, "app-secret"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("webhook: %d", res.StatusCode)
		}
	}
	deliver()
	deliver() // redelivered: duplicates
	got := messageEvents(a)
	if len(got) != 60 {
		t.Errorf("%d messages recorded, want 60", len(got))
	}
	for id, n := range got {
		if n != 1 || !strings.HasPrefix(id, "mid.many-") {
			t.Errorf("message %s recorded %d times", id, n)
		}
	}
	th := a.threads(&v1.ListThreadsRequest{View: v1.View_VIEW_ALL})
	if len(th) != 12 {
		t.Errorf("%d threads, want one per sender (12)", len(th))
	}
}
