package meta

import (
	"net/http"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
)

// TestGraphErrorClassification: what retrying can help, what is the link's fault, and the
// stable reason of each Graph (and WhatsApp Cloud API) error code the sender meets.
func TestGraphErrorClassification(t *testing.T) {
	cases := []struct {
		name            string
		err             GraphError
		status          int
		reason          string
		temporary, link bool
	}{
		{"unknown error", GraphError{Code: 1}, 500, platforms.ReasonPlatform, true, false},
		{"service unavailable", GraphError{Code: 2}, 503, platforms.ReasonPlatform, true, false},
		{"app rate limit", GraphError{Code: 4}, 400, platforms.ReasonRateLimited, true, false},
		{"user rate limit", GraphError{Code: 17}, 400, platforms.ReasonRateLimited, true, false},
		{"calls to this api exceeded", GraphError{Code: 613}, 400, platforms.ReasonRateLimited, true, false},
		{"whatsapp throughput", GraphError{Code: 130429}, 400, platforms.ReasonRateLimited, true, false},
		{"whatsapp pair rate limit", GraphError{Code: 131056}, 400, platforms.ReasonRateLimited, true, false},
		{"expired token", GraphError{Code: 190, Subcode: 463}, 401, platforms.ReasonAuth, false, true},
		{"missing permission", GraphError{Code: 200}, 403, platforms.ReasonAuth, false, true},
		{"outside the window", GraphError{Code: 10, Subcode: 2018278}, 400, platforms.ReasonWindowClosed, false, false},
		{"whatsapp re-engagement", GraphError{Code: 131047}, 400, platforms.ReasonWindowClosed, false, false},
		{"person unavailable", GraphError{Code: 551, Subcode: 1545041}, 400, platforms.ReasonBlocked, false, false},
		{"no such recipient", GraphError{Code: 100, Subcode: 2018001}, 400, platforms.ReasonRecipient, false, false},
		{"bad parameter", GraphError{Code: 100}, 400, platforms.ReasonInvalid, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.err.SendError(platforms.HTTPResult{Status: c.status, Header: http.Header{}}, "tok")
			if e.Reason != c.reason || e.Temporary != c.temporary || e.LinkFault != c.link {
				t.Fatalf("%+v, want reason %s temporary %v link fault %v", e, c.reason, c.temporary, c.link)
			}
		})
	}
	secret := GraphError{Code: 190, Message: "Invalid OAuth access token - Cannot parse access token EAAB-secret"}
	if e := secret.SendError(platforms.HTTPResult{Status: 401}, "EAAB-secret"); e.Detail == secret.Message || len(e.Error()) == 0 {
		t.Fatalf("the token was kept: %q", e.Detail)
	}
}
