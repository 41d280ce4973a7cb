package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// TestDialRefusesPrivateAddresses: the guard also holds at connection time (a name that
// resolved to a public address at creation may resolve to a private one later).
func TestDialRefusesPrivateAddresses(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hit = true }))
	defer srv.Close()
	for _, allow := range []bool{false, true} {
		x := NewDispatcher(Deps{Manager: &Manager{Guard: Guard{AllowPrivate: allow}, Secrets: NewSecrets([]byte("k"))}}, Options{})
		w := &worker{x: x, id: "whs_1"}
		status, _, _, err := w.post(context.Background(), srv.URL, "whsec_x", eventlog.Record{Event: domain.Event{ID: "evt_1", Payload: domain.TagDeleted{TagID: "t"}}}, []byte(`{}`), 1)
		if !allow {
			if err == nil || !strings.Contains(err.Error(), "loopback") || status != 0 || hit {
				t.Fatalf("dial to loopback: status %d, err %v, receiver hit %v", status, err, hit)
			}
			continue
		}
		if err != nil || status != http.StatusOK || !hit {
			t.Fatalf("with AllowPrivate: status %d, err %v", status, err)
		}
	}
}

func TestSignatureIsStripeScheme(t *testing.T) {
	at := time.Unix(1700000000, 0)
	got := Signature("whsec_abc", at, []byte(`{"a":1}`))
	// echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_abc
	if got != "t=1700000000,v1=3b843bacfb18cc5554542fdcc84d815b399c52758e508a6fcecf0a2af4efea2b" {
		t.Fatalf("signature %q", got)
	}
	s := NewSecrets([]byte("instance"))
	if s.For("whs_1") == s.For("whs_2") || s.For("whs_1") != NewSecrets([]byte("instance")).For("whs_1") {
		t.Fatal("secrets are not per subscription and stable")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Now()
	if d := retryAfter("7", now); d != 7*time.Second {
		t.Errorf("Retry-After 7: %s", d)
	}
	if d := retryAfter(now.Add(time.Minute).UTC().Format(http.TimeFormat), now); d < 58*time.Second || d > time.Minute {
		t.Errorf("Retry-After date: %s", d)
	}
	if d := retryAfter("soon", now); d != 0 {
		t.Errorf("Retry-After soon: %s", d)
	}
}
