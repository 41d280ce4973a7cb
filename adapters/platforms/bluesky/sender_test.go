package bluesky

import (
	"context"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky/blueskytest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
)

// sendMessage's own errors: a convo that is not the account's fails at once as an unknown
// recipient; no credentials is the link's fault; an expired session is refreshed, not failed.
func TestSenderErrors(t *testing.T) {
	fake := blueskytest.New(t, polltest.FixtureDir(t, "bluesky"))
	s := NewSender(platforms.BaseURLs{"bluesky": fake.URL}, nil)
	creds := map[string]string{CredIdentifier: blueskytest.Identifier, CredAppPassword: blueskytest.AppPassword}
	link := platforms.Link{ID: "acc_1", PlatformID: blueskytest.DID}
	_, err := s.Send(context.Background(), link, creds, platforms.Outbound{Conversation: "nope", Text: "hi"})
	if se := platforms.AsSendError(err); se.Reason != platforms.ReasonRecipient || se.Temporary || se.Code != "InvalidConvo" {
		t.Fatalf("unknown convo: %+v", se)
	}
	_, err = s.Send(context.Background(), link, nil, platforms.Outbound{Conversation: "3kt4jgm5nc32q", Text: "hi"})
	if se := platforms.AsSendError(err); se.Reason != platforms.ReasonAuth || !se.LinkFault {
		t.Fatalf("no credentials: %+v", se)
	}
	fake.ExpireTokens()
	sent, err := s.Send(context.Background(), link, creds, platforms.Outbound{Conversation: "3kt4jgm5nc32q", Text: "hi"})
	if err != nil || sent.PlatformMessageID == "" || sent.At.IsZero() || fake.Sessions() != 1 {
		t.Fatalf("after the token expired: %+v %v, %d sessions", sent, err, fake.Sessions())
	}
}
