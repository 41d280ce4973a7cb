package meta_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/meta"
)

func TestHandshake(t *testing.T) {
	creds := map[string]string{meta.CredVerifyToken: "meatyhamhock"}
	for _, c := range []struct {
		name, query string
		creds       map[string]string
		code        int
		body        string
	}{
		// The docs' own example request.
		{"right token", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", creds, 200, "1158201444"},
		{"wrong token", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyham", creds, 403, ""},
		{"no token", "hub.mode=subscribe&hub.challenge=1158201444", creds, 403, ""},
		{"wrong mode", "hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", creds, 403, ""},
		{"link without a verify token", "hub.mode=subscribe&hub.challenge=1&hub.verify_token=", map[string]string{}, 403, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			meta.Signed{}.Handshake(w, httptest.NewRequest(http.MethodGet, "/webhooks/messenger/acc_x?"+c.query, nil), c.creds)
			if w.Code != c.code || (c.code == 200 && w.Body.String() != c.body) {
				t.Errorf("%d %q, want %d %q", w.Code, w.Body.String(), c.code, c.body)
			}
			if c.code == 200 && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("challenge served as %q", w.Header().Get("Content-Type"))
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"object":"page","entry":[]}`)
	creds := map[string]string{meta.CredAppSecret: "app-secret"}
	good := meta.Sign(body, "app-secret")
	// Known answer (openssl dgst -sha256 -hmac app-secret), so the scheme is Meta's and not
	// only consistent with itself.
	if good != "sha256=e6e9d7a842a48e17f43a34d6125d0d933e2aab92ee37f0993a4d493b50e3d438" {
		t.Fatalf("Sign: %s", good)
	}
	for _, c := range []struct {
		name, header string
		creds        map[string]string
		body         []byte
		ok           bool
	}{
		{"signed", good, creds, body, true},
		{"upper-case hex", "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), creds, body, true},
		{"missing", "", creds, body, false},
		{"sha1 only", "sha1=" + strings.TrimPrefix(good, "sha256="), creds, body, false},
		{"not hex", "sha256=zz", creds, body, false},
		{"truncated", good[:len(good)-2], creds, body, false},
		{"other secret", meta.Sign(body, "another"), creds, body, false},
		{"body changed", good, creds, append(append([]byte{}, body...), ' '), false},
		{"link without app secret", meta.Sign(body, ""), map[string]string{}, body, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/messenger/acc_x", nil)
			if c.header != "" {
				r.Header.Set(meta.SignatureHeader, c.header)
			}
			err := meta.Signed{}.Verify(r, c.body, c.creds)
			if c.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !c.ok && !errors.Is(err, platforms.ErrSignature) {
				t.Errorf("got %v, want ErrSignature", err)
			}
		})
	}
}
