package domain

import (
	"strings"
	"testing"
	"time"
)

func TestWindowRules(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	cases := []struct {
		name       string
		rule       WindowRule
		last       time.Time
		humanAgent bool
		tag        string
		broken     string // the rule named by the refusal, "" for none
	}{
		{"no window, never wrote", WindowNone, time.Time{}, false, "", ""},
		{"meta within 24h", WindowMeta, ago(23 * time.Hour), false, "", ""},
		{"meta after 24h without human agent", WindowMeta, ago(25 * time.Hour), false, "", "meta_24h_window"},
		{"meta after 24h with human agent", WindowMeta, ago(25 * time.Hour), true, MessageTagHumanAgent, ""},
		{"meta after 7 days with human agent", WindowMeta, ago(8 * 24 * time.Hour), true, "", "meta_24h_window"},
		{"meta, the person never wrote", WindowMeta, time.Time{}, true, "", "meta_24h_window"},
		{"whatsapp within 24h", WindowWhatsApp, ago(time.Hour), false, "", ""},
		{"whatsapp after 24h", WindowWhatsApp, ago(25 * time.Hour), true, "", "whatsapp_24h_window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tag, err := c.rule.Open(now, c.last, c.humanAgent)
			if c.broken == "" {
				if err != nil || tag != c.tag {
					t.Fatalf("tag %q err %v, want tag %q", tag, err, c.tag)
				}
				return
			}
			if KindOf(err) != KindPrecondition || !strings.Contains(err.Error(), c.broken) {
				t.Fatalf("err %v, want a broken rule naming %s", err, c.broken)
			}
		})
	}
}

func TestCheckOutgoing(t *testing.T) {
	img := Attachment{Type: "image", URL: "https://example.com/a.png"}
	cases := []struct {
		name     string
		platform Platform
		text     string
		atts     []Attachment
		replyTo  bool
		field    string // InvalidArgument naming it; "" ok; "!" a broken rule
	}{
		{"telegram text", PlatformTelegram, "hi", nil, true, ""},
		{"telegram too long", PlatformTelegram, strings.Repeat("é", 4097), nil, false, "text"},
		{"telegram limit in characters, not bytes", PlatformTelegram, strings.Repeat("é", 4096), nil, false, ""},
		{"nothing to send", PlatformTelegram, "", nil, false, "text"},
		{"telegram image with caption", PlatformTelegram, "look", []Attachment{img}, false, ""},
		{"telegram video", PlatformTelegram, "", []Attachment{{Type: "video", URL: "https://e.com/v.mp4"}}, false, "attachments"},
		{"messenger text and image together", PlatformMessenger, "look", []Attachment{img}, false, "text"},
		{"messenger image", PlatformMessenger, "", []Attachment{img}, false, ""},
		{"messenger reply-to", PlatformMessenger, "hi", nil, true, "reply_to_message_id"},
		{"attachment without URL", PlatformWhatsApp, "", []Attachment{{Type: "image"}}, false, "attachments"},
		{"bluesky attachment", PlatformBluesky, "", []Attachment{img}, false, "attachments"},
		{"bluesky reply-to", PlatformBluesky, "hi", nil, true, ""},
		{"bluesky 1000 characters", PlatformBluesky, strings.Repeat("é", 1000), nil, false, ""},
		{"bluesky 1001 characters", PlatformBluesky, strings.Repeat("é", 1001), nil, false, "text"},
		{"x image with text", PlatformX, "look", []Attachment{img}, false, ""},
		{"x file", PlatformX, "", []Attachment{{Type: "file", URL: "https://e.com/a.pdf"}}, false, "attachments"},
		{"x reply-to", PlatformX, "hi", nil, true, "reply_to_message_id"},
		{"reddit text", PlatformReddit, strings.Repeat("a", 10000), nil, true, ""},
		{"reddit image", PlatformReddit, "", []Attachment{img}, false, "attachments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CapabilitiesOf(c.platform).CheckOutgoing(c.platform, c.text, c.atts, c.replyTo)
			switch c.field {
			case "":
				if err != nil {
					t.Fatalf("err %v, want none", err)
				}
			case "!":
				if KindOf(err) != KindPrecondition {
					t.Fatalf("err %v, want a broken rule", err)
				}
			default:
				if KindOf(err) != KindInvalid || !strings.Contains(err.Error(), c.field) {
					t.Fatalf("err %v, want bad input naming %s", err, c.field)
				}
				// An attachment refused names the platform and the kind.
				if c.field == "attachments" && len(c.atts) > 0 && c.atts[0].URL != "" &&
					(!strings.Contains(err.Error(), c.platform.String()) || !strings.Contains(err.Error(), c.atts[0].Type)) {
					t.Fatalf("err %v names neither the platform nor the kind", err)
				}
			}
		})
	}
}

// The saga as the aggregate sees it: requested, attempted, sent, delivered, read; an echo of
// our own reply, before or after message.sent, records nothing new.
func TestProspectReplySaga(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	rules := SendRules{Now: now, Capabilities: CapabilitiesOf(PlatformMessenger)}
	p := NewProspect("prs_1")
	in := message("thr_1", Inbound)
	in.SentAt, in.Prospect.PlatformID, in.PlatformConversationID = now.Add(-time.Hour), "psid", "psid"
	p.Apply(prospectEvent(OriginWebhook, p.ReceiveMessage(in, OriginWebhook)))

	req, err := p.RequestSend(MessageSendRequested{MessageID: "msg_s", ThreadID: "thr_1", Text: "hi"}, rules)
	if err != nil || req.RecipientPlatformID != "psid" || req.MessageTag != "" {
		t.Fatalf("request %+v, %v", req, err)
	}
	p.Apply(prospectEvent(OriginAPI, req))
	if _, ok, err := p.CancelSend("msg_x"); ok || KindOf(err) != KindNotFound {
		t.Fatalf("cancel of an unknown message: %v %v", ok, err)
	}
	att, err := p.AttemptSend("msg_s")
	if err != nil || att.Attempt != 1 {
		t.Fatalf("attempt %+v %v", att, err)
	}
	p.Apply(prospectEvent(OriginSystem, att))
	if _, err := p.AttemptSend("msg_s"); KindOf(err) != KindPrecondition {
		t.Fatalf("a second attempt without outcome: %v, want refused (reconcile first)", err)
	}
	if _, _, err := p.CancelSend("msg_s"); KindOf(err) != KindPrecondition {
		t.Fatalf("cancel during an attempt: %v, want refused", err)
	}
	// The echo arrives before message.sent: it records the send itself, once.
	echo := MessageReceived{MessageID: "msg_derived", ThreadID: "thr_1", Direction: Outbound, PlatformMessageID: "m.1",
		ClientMessageID: "msg_s", SentAt: now}
	pl, ours := p.ReceiveOwn(echo)
	sent, isSent := pl.(MessageSent)
	if !ours || !isSent || sent.MessageID != "msg_s" || sent.PlatformMessageID != "m.1" {
		t.Fatalf("echo before sent = %+v %v", pl, ours)
	}
	p.Apply(prospectEvent(OriginWebhook, sent))
	if _, changed, _ := p.RecordSent("msg_s", "m.1", now); changed {
		t.Fatal("the sender's message.sent after the echo changed something")
	}
	// Later echoes (by platform id alone) add nothing.
	echo.ClientMessageID = ""
	if pl, ours := p.ReceiveOwn(echo); !ours || pl != nil {
		t.Fatalf("second echo = %+v %v, want ours and nothing", pl, ours)
	}
	if _, ours := p.ReceiveOwn(MessageReceived{Direction: Outbound, PlatformMessageID: "m.other"}); ours {
		t.Fatal("a message sent from the platform's app is not ours")
	}
	for _, st := range []SendStatus{SendDelivered, SendRead} {
		d, ok := p.RecordDelivery("msg_s", st, now)
		if !ok {
			t.Fatalf("delivery %v refused", st)
		}
		p.Apply(prospectEvent(OriginWebhook, d))
	}
	if _, ok := p.RecordDelivery("msg_s", SendDelivered, now); ok {
		t.Fatal("read went back to delivered")
	}
	if p.Send("msg_s") != SendRead {
		t.Fatalf("status %v, want read", p.Send("msg_s"))
	}
}

func TestProspectRetryAndCancel(t *testing.T) {
	p := NewProspect("prs_1")
	receive(p, "thr_1", Inbound, OriginWebhook)
	for _, id := range []string{"msg_a", "msg_b"} {
		req, err := p.RequestSend(MessageSendRequested{MessageID: id, ThreadID: "thr_1", Text: "hi"}, SendRules{})
		if err != nil {
			t.Fatal(err)
		}
		p.Apply(prospectEvent(OriginAPI, req))
	}
	if _, changed, err := p.RetrySend("msg_a"); changed || err != nil {
		t.Fatalf("retry of a pending message: %v %v, want a repeat", changed, err)
	}
	att, _ := p.AttemptSend("msg_a")
	p.Apply(prospectEvent(OriginSystem, att))
	f, changed, err := p.RecordSendFailed("msg_a", ReasonUnknownOutcome, false, "")
	if !changed || err != nil {
		t.Fatal(changed, err)
	}
	p.Apply(prospectEvent(OriginSystem, f))
	r, changed, err := p.RetrySend("msg_a")
	if !changed || err != nil {
		t.Fatal(changed, err)
	}
	p.Apply(prospectEvent(OriginAPI, r))
	att, err = p.AttemptSend("msg_a")
	if err != nil || att.Attempt != 2 {
		t.Fatalf("second attempt %+v %v", att, err)
	}
	c, changed, err := p.CancelSend("msg_b")
	if !changed || err != nil {
		t.Fatal(changed, err)
	}
	p.Apply(prospectEvent(OriginAPI, c))
	if _, changed, err := p.CancelSend("msg_b"); changed || err != nil {
		t.Fatalf("cancel twice: %v %v, want a repeat", changed, err)
	}
	if _, err := p.AttemptSend("msg_b"); KindOf(err) != KindPrecondition {
		t.Fatalf("attempt of a cancelled message: %v", err)
	}
	if _, _, err := p.RetrySend("msg_b"); KindOf(err) != KindPrecondition {
		t.Fatalf("retry of a cancelled message: %v", err)
	}
}

func TestRequestSendRefusesOutsideTheWindow(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	p := NewProspect("prs_1")
	in := message("thr_1", Inbound)
	in.SentAt = now.Add(-30 * time.Hour)
	p.Apply(prospectEvent(OriginWebhook, p.ReceiveMessage(in, OriginWebhook)))
	_, err := p.RequestSend(MessageSendRequested{MessageID: "msg_s", ThreadID: "thr_1", Text: "hi"},
		SendRules{Now: now, Capabilities: CapabilitiesOf(PlatformWhatsApp)})
	if KindOf(err) != KindPrecondition || !strings.Contains(err.Error(), "whatsapp_24h_window") {
		t.Fatalf("err %v", err)
	}
	req, err := p.RequestSend(MessageSendRequested{MessageID: "msg_s", ThreadID: "thr_1", Text: "hi"},
		SendRules{Now: now, Capabilities: CapabilitiesOf(PlatformInstagram), HumanAgent: true})
	if err != nil || req.MessageTag != MessageTagHumanAgent {
		t.Fatalf("instagram with human agent: %+v %v", req, err)
	}
}

// Platforms that give no client id back (X, Bluesky, Reddit): a poll or webhook that sees our
// reply before message.sent (or after the sender died during the call) finds it by thread and
// text among the replies without a recorded outcome; anything else is the thread's own message.
func TestProspectUnrecordedReplySeen(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	rules := SendRules{Now: now, Capabilities: CapabilitiesOf(PlatformBluesky)}
	p := NewProspect("prs_1")
	in := message("thr_1", Inbound)
	in.SentAt, in.Prospect.PlatformID, in.PlatformConversationID = now.Add(-time.Hour), "did:plc:a", "convo1"
	p.Apply(prospectEvent(OriginPoll, p.ReceiveMessage(in, OriginPoll)))
	request := func(id, text string) {
		req, err := p.RequestSend(MessageSendRequested{MessageID: id, ThreadID: "thr_1", Text: text}, rules)
		if err != nil {
			t.Fatal(err)
		}
		p.Apply(prospectEvent(OriginAPI, req))
	}
	attempt := func(id string) {
		att, err := p.AttemptSend(id)
		if err != nil {
			t.Fatal(err)
		}
		p.Apply(prospectEvent(OriginSystem, att))
	}
	poll := func(pmid, text string) MessageReceived {
		return MessageReceived{ThreadID: "thr_1", Direction: Outbound, PlatformMessageID: pmid, Text: text, SentAt: now}
	}
	request("msg_a", "on my way")
	if _, ours := p.ReceiveOwn(poll("p1", "on my way")); ours {
		t.Fatal("a reply not attempted yet matched a message the platform shows")
	}
	attempt("msg_a")
	if _, ours := p.ReceiveOwn(poll("p1", "something else")); ours {
		t.Fatal("another text matched the reply in flight")
	}
	other := poll("p1", "on my way")
	other.ThreadID = "thr_2"
	if _, ours := p.ReceiveOwn(other); ours {
		t.Fatal("another thread's message matched the reply in flight")
	}
	pl, ours := p.ReceiveOwn(poll("p1", "on my way\n"))
	sent, ok := pl.(MessageSent)
	if !ours || !ok || sent.MessageID != "msg_a" || sent.PlatformMessageID != "p1" {
		t.Fatalf("the poll of the reply in flight = %+v %v", pl, ours)
	}
	p.Apply(prospectEvent(OriginPoll, sent))
	if _, changed, _ := p.RecordSent("msg_a", "p1", now); changed {
		t.Fatal("the sender's message.sent after the poll changed something")
	}
	if pl, ours := p.ReceiveOwn(poll("p1", "on my way")); !ours || pl != nil {
		t.Fatalf("the next poll = %+v %v, want ours and nothing", pl, ours)
	}
	if _, ours := p.ReceiveOwn(poll("p2", "on my way")); ours {
		t.Fatal("the same text typed again in the platform's app matched the reply already sent")
	}

	// Unknown outcome: the poll settles it. Two alike in flight: no guess.
	request("msg_b", "done")
	attempt("msg_b")
	f, _, _ := p.RecordSendFailed("msg_b", ReasonUnknownOutcome, false, "")
	p.Apply(prospectEvent(OriginSystem, f))
	if pl, _ := p.ReceiveOwn(poll("p3", "done")); pl == nil || pl.(MessageSent).MessageID != "msg_b" {
		t.Fatalf("the poll of a reply of unknown outcome = %+v", pl)
	}
	request("msg_c", "ok")
	attempt("msg_c")
	request("msg_d", "ok")
	attempt("msg_d")
	if _, ours := p.ReceiveOwn(poll("p4", "ok")); ours {
		t.Fatal("one message matched two replies alike")
	}
}

// A read watermark (Meta's read: every message sent before it) reads our replies of that
// thread sent by then, once; not those sent later, pending or of another thread.
func TestProspectSeenUpTo(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	rules := SendRules{Now: now, Capabilities: CapabilitiesOf(PlatformTelegram)}
	p := NewProspect("prs_1")
	in := message("thr_1", Inbound)
	in.SentAt, in.Prospect.PlatformID = now.Add(-time.Hour), "psid"
	p.Apply(prospectEvent(OriginWebhook, p.ReceiveMessage(in, OriginWebhook)))
	for i, id := range []string{"msg_a", "msg_b", "msg_c"} {
		req, err := p.RequestSend(MessageSendRequested{MessageID: id, ThreadID: "thr_1", Text: id}, rules)
		if err != nil {
			t.Fatal(err)
		}
		p.Apply(prospectEvent(OriginAPI, req))
		if id != "msg_c" { // msg_c stays pending
			sent, _, _ := p.RecordSent(id, "p"+id, now.Add(time.Duration(i)*time.Minute))
			p.Apply(prospectEvent(OriginSystem, sent))
		}
	}
	got := p.SeenUpTo("thr_1", now.Add(30*time.Second))
	if len(got) != 1 || got[0].MessageID != "msg_a" || got[0].Status != "read" {
		t.Fatalf("watermark between the replies read %+v, want msg_a", got)
	}
	p.Apply(prospectEvent(OriginWebhook, got[0]))
	if got := p.SeenUpTo("thr_2", now.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("another thread's watermark read %+v", got)
	}
	got = p.SeenUpTo("thr_1", now.Add(time.Hour))
	if len(got) != 1 || got[0].MessageID != "msg_b" {
		t.Fatalf("a later watermark read %+v, want msg_b alone (msg_a is read, msg_c pending)", got)
	}
}
