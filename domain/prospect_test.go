package domain

import (
	"reflect"
	"testing"
	"time"
)

func prospectEvent(origin Origin, p Payload) Event {
	return Event{ID: NewID(PrefixEvent), TeamID: "team_a", Key: "prs_1", OccurredAt: time.Unix(1, 0), RecordedAt: time.Unix(1, 0),
		Origin: origin, Payload: p}
}

func message(thread string, dir Direction) MessageReceived {
	return MessageReceived{MessageID: NewID(PrefixMessage), ThreadID: thread, ProspectID: "prs_1", AccountLinkID: "acc_1",
		Platform: PlatformAPI, Direction: dir}
}

// receive decides a message on p and applies it, returning the decision.
func receive(p *Prospect, thread string, dir Direction, origin Origin) Decision {
	m := p.ReceiveMessage(message(thread, dir), origin)
	p.Apply(prospectEvent(origin, m))
	return m.Decision
}

func TestProspectMessageDecisions(t *testing.T) {
	p := NewProspect("prs_1")
	if d := receive(p, "thr_1", Inbound, OriginWebhook); !d.Decided || !d.OpensRequest {
		t.Fatalf("first inbound message of a new prospect = %+v, want a request", d)
	}
	if th, _ := p.Thread("thr_1"); !th.Request {
		t.Fatal("thread 1 is not a request after applying its decision")
	}
	if d := receive(p, "thr_2", Inbound, OriginWebhook); d.OpensRequest {
		t.Fatalf("a second thread of a known prospect = %+v, want no request", d)
	}
	if d := receive(p, "thr_1", Inbound, OriginWebhook); d.OpensRequest || d.Reopens || len(d.AnsweredRequests) > 0 {
		t.Fatalf("another inbound message = %+v, want nothing", d)
	}
	if d := receive(p, "thr_1", Outbound, OriginWebhook); !reflect.DeepEqual(d.AnsweredRequests, []string{"thr_1"}) {
		t.Fatalf("our answer = %+v, want thread 1 answered", d)
	}
	if d := receive(p, "thr_1", Outbound, OriginWebhook); len(d.AnsweredRequests) > 0 {
		t.Fatalf("a second answer = %+v, want nothing left to answer", d)
	}

	done, err := p.MarkDone("thr_1")
	if err != nil {
		t.Fatal(err)
	}
	p.Apply(prospectEvent(OriginAPI, done))
	if d := receive(p, "thr_1", Inbound, OriginBackfill); d.Reopens {
		t.Fatal("a backfilled message reopened a done thread")
	}
	if d := receive(p, "thr_1", Outbound, OriginWebhook); d.Reopens {
		t.Fatal("our own message reopened a done thread")
	}
	if d := receive(p, "thr_1", Inbound, OriginPoll); !d.Reopens {
		t.Fatal("a new inbound message did not reopen a done thread")
	}
	if th, _ := p.Thread("thr_1"); th.Done {
		t.Fatal("thread 1 is still done after the reopening message")
	}
	if d := receive(NewProspect("prs_2"), "thr_9", Outbound, OriginAPI); d.OpensRequest {
		t.Fatal("a thread the team starts is a request")
	}
}

func TestProspectActsAnswerRequests(t *testing.T) {
	fresh := func() *Prospect {
		p := NewProspect("prs_1")
		receive(p, "thr_1", Inbound, OriginWebhook) // a request
		receive(p, "thr_2", Inbound, OriginWebhook) // not one
		return p
	}
	cases := []struct {
		name string
		act  func(*Prospect) (Payload, error)
		want []string
	}{
		{"assign the request", func(p *Prospect) (Payload, error) { return p.Assign("thr_1", "mem_1") }, []string{"thr_1"}},
		{"assign another thread", func(p *Prospect) (Payload, error) { return p.Assign("thr_2", "mem_1") }, nil},
		{"mark the request done", func(p *Prospect) (Payload, error) { return p.MarkDone("thr_1") }, []string{"thr_1"}},
		{"tag the prospect", func(p *Prospect) (Payload, error) { return p.Tag("tag_1") }, []string{"thr_1"}},
		{"set the status", func(p *Prospect) (Payload, error) { return p.SetStatus("sts_1") }, []string{"thr_1"}},
		{"clear the status", func(p *Prospect) (Payload, error) { return p.SetStatus("") }, []string{"thr_1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := fresh()
			pl, err := c.act(p)
			if err != nil {
				t.Fatal(err)
			}
			d := reflect.ValueOf(pl).FieldByName("Decision").Interface().(Decision)
			if !d.Decided || !reflect.DeepEqual(d.AnsweredRequests, c.want) {
				t.Fatalf("decision %+v, want answered %v", d, c.want)
			}
			p.Apply(prospectEvent(OriginAPI, pl))
			if th, _ := p.Thread("thr_1"); th.Request == (len(c.want) > 0) {
				t.Fatalf("after applying, thread 1 request = %v", th.Request)
			}
		})
	}
}

func TestProspectRules(t *testing.T) {
	world := func() *Prospect {
		p := NewProspect("prs_1")
		receive(p, "thr_open", Inbound, OriginWebhook)
		receive(p, "thr_done", Inbound, OriginWebhook)
		for _, pl := range []Payload{
			ThreadAssigned{ThreadID: "thr_done", ProspectID: "prs_1", MemberID: "mem_1"},
			ThreadDone{ThreadID: "thr_done", ProspectID: "prs_1"},
			ProspectTagged{ProspectID: "prs_1", TagID: "tag_vip"},
		} {
			p.Apply(prospectEvent(OriginAPI, pl))
		}
		return p
	}
	cases := []struct {
		name string
		run  func(*Prospect) error
		kind ErrorKind // KindInternal: no error
	}{
		{"assign", func(p *Prospect) error { _, err := p.Assign("thr_open", "mem_1"); return err }, KindInternal},
		{"assign an unknown thread", func(p *Prospect) error { _, err := p.Assign("thr_x", "mem_1"); return err }, KindNotFound},
		{"unassign an assigned thread", func(p *Prospect) error { _, err := p.Unassign("thr_done"); return err }, KindInternal},
		{"unassign an unassigned thread", func(p *Prospect) error { _, err := p.Unassign("thr_open"); return err }, KindPrecondition},
		{"mark done", func(p *Prospect) error { _, err := p.MarkDone("thr_open"); return err }, KindInternal},
		{"mark a done thread done", func(p *Prospect) error { _, err := p.MarkDone("thr_done"); return err }, KindPrecondition},
		{"reopen a done thread", func(p *Prospect) error { _, err := p.Reopen("thr_done"); return err }, KindInternal},
		{"reopen an open thread", func(p *Prospect) error { _, err := p.Reopen("thr_open"); return err }, KindPrecondition},
		{"mark read", func(p *Prospect) error { _, err := p.MarkRead("thr_open"); return err }, KindInternal},
		{"mark an unknown thread read", func(p *Prospect) error { _, err := p.MarkRead("thr_x"); return err }, KindNotFound},
		{"tag", func(p *Prospect) error { _, err := p.Tag("tag_2"); return err }, KindInternal},
		{"tag twice", func(p *Prospect) error { _, err := p.Tag("tag_vip"); return err }, KindPrecondition},
		{"untag", func(p *Prospect) error { _, err := p.Untag("tag_vip"); return err }, KindInternal},
		{"untag a tag it lacks", func(p *Prospect) error { _, err := p.Untag("tag_2"); return err }, KindPrecondition},
		{"tag an unknown prospect", func(*Prospect) error { _, err := NewProspect("prs_x").Tag("tag_vip"); return err }, KindNotFound},
		{"status of an unknown prospect", func(*Prospect) error { _, err := NewProspect("prs_x").SetStatus(""); return err }, KindNotFound},
		{"context of an unknown prospect", func(*Prospect) error {
			_, err := NewProspect("prs_x").UpdateContext(ProspectContext{})
			return err
		}, KindNotFound},
		{"request a send", func(p *Prospect) error {
			_, err := p.RequestSend(MessageSendRequested{MessageID: "msg_s", ThreadID: "thr_open"}, SendRules{})
			return err
		}, KindInternal},
		{"request a send on an unknown thread", func(p *Prospect) error {
			_, err := p.RequestSend(MessageSendRequested{MessageID: "msg_s", ThreadID: "thr_x"}, SendRules{})
			return err
		}, KindNotFound},
		{"record a send never requested", func(p *Prospect) error { _, _, err := p.RecordSent("msg_x", "pm", time.Time{}); return err }, KindPrecondition},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantKind(t, c.run(world()), c.kind) })
	}
}

func TestProspectSendState(t *testing.T) {
	p := NewProspect("prs_1")
	receive(p, "thr_1", Inbound, OriginWebhook)
	req, err := p.RequestSend(MessageSendRequested{MessageID: "msg_s", ThreadID: "thr_1", Text: "hi"}, SendRules{})
	if err != nil {
		t.Fatal(err)
	}
	if !req.Decision.Answers("thr_1") || req.AccountLinkID != "acc_1" {
		t.Fatalf("request = %+v, want it to answer the thread, through its link", req)
	}
	p.Apply(prospectEvent(OriginAPI, req))
	if p.Send("msg_s") != SendPending {
		t.Fatalf("state %v, want pending", p.Send("msg_s"))
	}
	if _, err := p.RequestSend(req, SendRules{}); err != nil { // pending → pending is a repeat, not an error
		t.Fatalf("a repeated request: %v", err)
	}
	// The platform's echo of our own reply is no new message: it decides nothing.
	echo := message("thr_1", Outbound)
	echo.MessageID = "msg_s"
	if d := p.ReceiveMessage(echo, OriginWebhook).Decision; d.OpensRequest || d.Reopens || len(d.AnsweredRequests) > 0 {
		t.Fatalf("echo decided %+v", d)
	}
	sent, changed, err := p.RecordSent("msg_s", "pm-1", time.Time{})
	if err != nil || !changed {
		t.Fatalf("sent: %v %v", changed, err)
	}
	p.Apply(prospectEvent(OriginAPI, sent))
	if _, changed, err := p.RecordSent("msg_s", "pm-1", time.Time{}); changed || err != nil {
		t.Fatalf("a repeated sent: %v %v", changed, err)
	}
	if p.Send("msg_s") != SendSent {
		t.Fatalf("state %v, want sent", p.Send("msg_s"))
	}
}

// An event of the first release (no decision) is decided on apply from the state it found, to
// the same result as the decided event.
func TestProspectAppliesUndecidedEventsAsDecided(t *testing.T) {
	script := func(decide bool) *Prospect {
		p := NewProspect("prs_1")
		for _, step := range []struct {
			origin Origin
			p      func(*Prospect) Payload
		}{
			{OriginWebhook, func(p *Prospect) Payload { return p.ReceiveMessage(message("thr_1", Inbound), OriginWebhook) }},
			{OriginWebhook, func(p *Prospect) Payload { return p.ReceiveMessage(message("thr_2", Inbound), OriginWebhook) }},
			{OriginAPI, func(p *Prospect) Payload { pl, _ := p.Assign("thr_2", "mem_1"); return pl }},
			{OriginAPI, func(p *Prospect) Payload { pl, _ := p.MarkDone("thr_2"); return pl }},
			{OriginPoll, func(p *Prospect) Payload { return p.ReceiveMessage(message("thr_2", Inbound), OriginPoll) }},
			{OriginAPI, func(p *Prospect) Payload { pl, _ := p.Tag("tag_1"); return pl }},
		} {
			pl := step.p(p)
			if !decide {
				pl = undecided(pl)
			}
			p.Apply(prospectEvent(step.origin, pl))
		}
		return p
	}
	decided, legacy := script(true), script(false)
	decided.decided, legacy.decided = nil, nil // event ids differ
	if !reflect.DeepEqual(decided, legacy) {
		t.Fatalf("decided %+v\nlegacy  %+v", decided, legacy)
	}
}

func undecided(p Payload) Payload {
	switch e := p.(type) {
	case MessageReceived:
		e.Decision = Decision{}
		return e
	case ThreadAssigned:
		e.Decision = Decision{}
		return e
	case ThreadDone:
		e.Decision = Decision{}
		return e
	case ProspectTagged:
		e.Decision = Decision{}
		return e
	}
	return p
}
