package readmodeltest

import (
	"context"
	"log/slog"
	"maps"
	"reflect"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

func testReadAndAssign(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformMessenger, "page-1", at(0))
	thr := threadID(l, "alice")
	f.apply(
		memberAdded(f.team, "mem_ann", "ann", at(0)),
		memberAdded(f.team, "mem_bo", "bo", at(0)),
		received(l, "alice", "m1", domain.Inbound, "one", at(1)),
		received(l, "alice", "m2", domain.Inbound, "two", at(2)),
	)
	eq(t, "unread before reading", f.thread(thr).UnreadCount, int32(2))
	f.apply(read(l, "alice", at(3)))
	eq(t, "unread after thread.read", f.thread(thr).UnreadCount, int32(0))
	eq(t, "message count after thread.read", f.thread(thr).MessageCount, int32(2))
	f.apply(received(l, "alice", "m3", domain.Inbound, "three", at(4)))
	eq(t, "unread after a new message", f.thread(thr).UnreadCount, int32(1))

	f.apply(assigned(l, "alice", "mem_ann", at(5)))
	eq(t, "assignee", f.thread(thr).AssigneeMemberID, "mem_ann")
	f.apply(assigned(l, "alice", "mem_bo", at(6)))
	eq(t, "assignee after reassigning", f.thread(thr).AssigneeMemberID, "mem_bo")
	f.wantThreads("assigned to ann", projections.ThreadQuery{View: projections.ViewAll, AssigneeMemberID: "mem_ann"})
	f.wantThreads("assigned to bo", projections.ThreadQuery{View: projections.ViewAll, AssigneeMemberID: "mem_bo"}, thr)
	f.apply(unassigned(l, "alice", at(7)))
	eq(t, "assignee after unassign", f.thread(thr).AssigneeMemberID, "")
	f.wantThreads("unassigned", projections.ThreadQuery{View: projections.ViewAll, Unassigned: true}, thr)

	// Events about a thread the read model does not have change nothing and fail nothing.
	ghost := newLink(f.team, domain.PlatformMessenger, "page-ghost")
	f.apply(read(ghost, "nobody", at(8)), assigned(ghost, "nobody", "mem_ann", at(8)), done(ghost, "nobody", at(8)),
		edited(ghost, "nobody", "x", "text", at(8)), tagged(ghost, "nobody", "tag_x", at(8)))
	f.wantThreads("ALL after events about unknown threads", all, thr)
}

func testEditAndDelete(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformInstagram, "ig-1", at(0))
	thr := threadID(l, "alice")
	f.apply(
		received(l, "alice", "m1", domain.Inbound, "first", at(1)),
		received(l, "alice", "m2", domain.Inbound, "second", at(2)),
	)
	f.apply(edited(l, "alice", "m1", "first (edited)", at(3)))
	m1 := f.message(messageID(l, "m1"))
	eq(t, "edited text", m1.Text, "first (edited)")
	eq(t, "edited flag", m1.Edited, true)
	eq(t, "preview after editing an older message", f.thread(thr).LastMessageText, "second")

	f.apply(edited(l, "alice", "m2", "second!", at(4)))
	eq(t, "preview after editing the last message", f.thread(thr).LastMessageText, "second!")

	f.apply(deleted(l, "alice", "m2", at(5)))
	m2 := f.message(messageID(l, "m2"))
	eq(t, "deleted flag", m2.Deleted, true)
	eq(t, "deleted text", m2.Text, "")
	eq(t, "preview after deleting the last message", f.thread(thr).LastMessageText, "")
	f.apply(edited(l, "alice", "m2", "resurrected", at(6)))
	m2 = f.message(messageID(l, "m2"))
	eq(t, "text of a deleted message after an edit", m2.Text, "")
	eq(t, "deleted message stays deleted", m2.Deleted, true)
	eq(t, "preview after editing a deleted message", f.thread(thr).LastMessageText, "")
	th := f.thread(thr)
	eq(t, "message count after edits and deletes", th.MessageCount, int32(2))
	eq(t, "messages still listed", len(f.messages(thr)), 2)

	// A message with only an attachment previews as its type, and keeps its attachments.
	e := received(l, "alice", "m3", domain.Inbound, "", at(7))
	p := e.Payload.(domain.MessageReceived)
	p.Attachments = []domain.Attachment{
		{Type: "image", URL: "https://cdn.example/cat.jpg", MimeType: "image/jpeg", PlatformID: "att-1"},
		{Type: "file", URL: "https://cdn.example/cv.pdf", Name: "cv.pdf"},
	}
	p.ReplyToMessageID = messageID(l, "m1")
	e.Payload = p
	f.apply(e)
	eq(t, "preview of an attachment", f.thread(thr).LastMessageText, "[image]")
	m3 := f.message(messageID(l, "m3"))
	want := []projections.Attachment{
		{Type: "image", URL: "https://cdn.example/cat.jpg", MimeType: "image/jpeg", PlatformID: "att-1"},
		{Type: "file", URL: "https://cdn.example/cv.pdf", Name: "cv.pdf"},
	}
	if !reflect.DeepEqual(m3.Attachments, want) {
		t.Errorf("attachments = %+v, want %+v", m3.Attachments, want)
	}
	eq(t, "reply to", m3.ReplyToMessageID, messageID(l, "m1"))
	f.apply(deleted(l, "alice", "m3", at(8)))
	eq(t, "attachments of a deleted message", len(f.message(messageID(l, "m3")).Attachments), 0)
	eq(t, "preview after deleting an attachment", f.thread(thr).LastMessageText, "")
}

func testSendStatuses(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformWhatsApp, "wa-1", at(0))
	thr, prs := threadID(l, "alice"), prospectID(l, "alice")
	f.apply(received(l, "alice", "m1", domain.Inbound, "hi", at(1)))

	send := func(id, text string, when int) domain.Event {
		return onThread(l, "alice", at(when), domain.MessageSendRequested{MessageID: id, ThreadID: thr, ProspectID: prs,
			AccountLinkID: l.ID, Platform: l.Platform, Text: text})
	}
	ok, ko := domain.NewID(domain.PrefixMessage), domain.NewID(domain.PrefixMessage)
	f.apply(send(ok, "hello from us", 2))
	m := f.message(ok)
	eq(t, "status of a requested send", m.Status, "pending")
	eq(t, "direction of a send", m.Direction, "outbound")
	eq(t, "text of a send", m.Text, "hello from us")
	eqTime(t, "time of a send", m.SentAt, at(2))
	th := f.thread(thr)
	eq(t, "message count", th.MessageCount, int32(2))
	eq(t, "last direction", th.LastMessageDirection, "outbound")
	eq(t, "last text", th.LastMessageText, "hello from us")
	eq(t, "request after our send", th.Request, false)
	f.wantThreads("NO_REPLY after our send", noReply, thr)

	f.apply(onThread(l, "alice", at(3), domain.MessageSent{MessageID: ok, ThreadID: thr, ProspectID: prs, PlatformMessageID: "wamid.99"}))
	m = f.message(ok)
	eq(t, "status after message.sent", m.Status, "sent")
	eq(t, "platform id after message.sent", m.PlatformID, "wamid.99")

	f.apply(send(ko, "this will fail", 4),
		onThread(l, "alice", at(5), domain.MessageSendFailed{MessageID: ko, ThreadID: thr, ProspectID: prs, Reason: "window closed", Permanent: true}))
	st, reason := f.message(ko).SendState()
	eq(t, "status after message.send_failed", st, "failed")
	eq(t, "failure reason", reason, "window closed")
	eq(t, "status of the other send", f.message(ok).Status, "sent")

	// Receipts move a reply forward only; a late or redelivered one never moves it back.
	f.apply(onThread(l, "alice", at(6), domain.MessageDeliveryUpdated{MessageID: ok, ThreadID: thr, ProspectID: prs, Status: "read", At: at(6)}),
		onThread(l, "alice", at(6), domain.MessageDeliveryUpdated{MessageID: ok, ThreadID: thr, ProspectID: prs, Status: "delivered", At: at(6)}),
		onThread(l, "alice", at(6), domain.MessageSent{MessageID: ok, ThreadID: thr, ProspectID: prs, PlatformMessageID: "wamid.99"}))
	eq(t, "status after read, then a late delivered and sent", f.message(ok).Status, "read")
	// A retry makes the failed reply pending again; a cancellation ends a pending one.
	f.apply(onThread(l, "alice", at(7), domain.MessageSendRetried{MessageID: ko, ThreadID: thr, ProspectID: prs}))
	st, reason = f.message(ko).SendState()
	eq(t, "status after a retry", st+reason, "pending")
	f.apply(onThread(l, "alice", at(8), domain.MessageSendCancelled{MessageID: ko, ThreadID: thr, ProspectID: prs}))
	eq(t, "status after a cancellation", f.message(ko).Status, "cancelled")
	eqIDs(t, "messages", messageIDs(f.messages(thr)), []string{ko, ok, messageID(l, "m1")})
}

func testAccountLinks(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l1 := newLink(f.team, domain.PlatformMessenger, "page-1")
	l2 := newLink(f.team, domain.PlatformInstagram, "ig-1")
	// The link with the greater id is the older, so only the time can give the order.
	older, newer := l1, l2
	if l2.ID > l1.ID {
		older, newer = l2, l1
	}
	f.apply(linked(newer, at(1)), linked(older, at(0)))
	links, err := f.s.AccountLinks(f.ctx, f.team)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || links[0].ID != older.ID || links[1].ID != newer.ID {
		t.Fatalf("account links = %+v, want [%s %s] (oldest first)", links, older.ID, newer.ID)
	}
	a, err := f.s.AccountLink(f.ctx, f.team, l1.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "platform", a.Platform, "messenger")
	eq(t, "platform id", a.PlatformID, "page-1")
	eq(t, "username", a.Username, "acct_page-1")
	eq(t, "display name", a.DisplayName, "Account page-1")
	eq(t, "webhook path", a.WebhookPath, "/webhooks/messenger/"+l1.ID)
	eq(t, "team", a.TeamID, f.team)
	eq(t, "active", a.Active, true)
	eq(t, "healthy", a.Healthy, true)
	eq(t, "unlinked", a.Unlinked, false)
	if older == l1 {
		eqTime(t, "linked at", a.LinkedAt, at(0))
	} else {
		eqTime(t, "linked at", a.LinkedAt, at(1))
	}

	get := func() projections.AccountLink {
		t.Helper()
		a, err := f.s.AccountLink(f.ctx, f.team, l1.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	health := func(ok bool, reason string) domain.Event {
		return teamEvent(f.team, at(2), domain.AccountHealthChanged{AccountLinkID: l1.ID, Healthy: ok, Reason: reason})
	}
	f.apply(health(false, "token expired"))
	a = get()
	eq(t, "active when unhealthy", a.Active, false)
	eq(t, "healthy when unhealthy", a.Healthy, false)
	eq(t, "health reason", a.HealthReason, "token expired")
	f.apply(health(true, ""))
	a = get()
	eq(t, "active when healthy again", a.Active, true)
	eq(t, "health reason when healthy again", a.HealthReason, "")

	f.apply(teamEvent(f.team, at(3), domain.AccountUnlinked{AccountLinkID: l1.ID}))
	a = get()
	eq(t, "active after unlink", a.Active, false)
	eq(t, "unlinked after unlink", a.Unlinked, true)
	f.apply(health(true, ""))
	a = get()
	eq(t, "active of an unlinked account after a health change", a.Active, false)
	eq(t, "unlinked after a health change", a.Unlinked, true)

	f.apply(linked(l1, at(4)))
	a = get()
	eq(t, "active after relinking", a.Active, true)
	eq(t, "unlinked after relinking", a.Unlinked, false)
	eq(t, "account links after relinking", len(mustLinks(t, f)), 2)

	byID, err := f.s.AccountLinkByID(f.ctx, l2.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "AccountLinkByID team", byID.TeamID, f.team)
	eq(t, "AccountLinkByID platform id", byID.PlatformID, "ig-1")
	_, err = f.s.AccountLinkByID(f.ctx, "acc_unknown")
	notFound(t, "AccountLinkByID of an unknown id", err)
	_, err = f.s.AccountLink(f.ctx, f.team, "acc_unknown")
	notFound(t, "AccountLink of an unknown id", err)
}

func mustLinks(t *testing.T, f *fx) []projections.AccountLink {
	t.Helper()
	links, err := f.s.AccountLinks(f.ctx, f.team)
	if err != nil {
		t.Fatal(err)
	}
	return links
}

func testProspectContextAndProfile(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	l := f.link(domain.PlatformMessenger, "page-1", at(0))
	prs, thr := prospectID(l, "alice"), threadID(l, "alice")
	f.apply(received(l, "alice", "m1", domain.Inbound, "hi", at(1)))

	ctxEvent := func(notes string, valuation float64, fields map[string]string) domain.Event {
		return onThread(l, "alice", at(2), domain.ProspectContextUpdated{ProspectID: prs, Notes: notes, Valuation: valuation, CustomFields: fields})
	}
	f.apply(ctxEvent("met at the fair", 1200.5, map[string]string{"company": "Acme", "plan": "pro"}))
	p := f.prospect(prs)
	eq(t, "notes", p.Notes, "met at the fair")
	eq(t, "valuation", p.Valuation, 1200.5)
	if !maps.Equal(p.CustomFields, map[string]string{"company": "Acme", "plan": "pro"}) {
		t.Errorf("custom fields = %v", p.CustomFields)
	}
	f.apply(ctxEvent("", 0, map[string]string{"company": "Acme Ltd"}))
	p = f.prospect(prs)
	eq(t, "notes cleared", p.Notes, "")
	eq(t, "valuation cleared", p.Valuation, 0.0)
	if !maps.Equal(p.CustomFields, map[string]string{"company": "Acme Ltd"}) {
		t.Errorf("custom fields replaced = %v, want only company", p.CustomFields)
	}
	f.apply(ctxEvent("", 0, nil))
	eq(t, "custom fields cleared", len(f.prospect(prs).CustomFields), 0)

	f.apply(onThread(l, "alice", at(3), domain.ProspectProfileUpdated{ProspectID: prs, Platform: l.Platform, PlatformID: "alice",
		DisplayName: "Alice Liddell", AvatarURL: "https://cdn.example/alice-2.png"}))
	p = f.prospect(prs)
	eq(t, "display name after a profile update", p.DisplayName, "Alice Liddell")
	eq(t, "avatar after a profile update", p.AvatarURL, "https://cdn.example/alice-2.png")
	eq(t, "username kept when the update has none", p.Username, "alice")
	eq(t, "thread shows the new name", f.thread(thr).Prospect.DisplayName, "Alice Liddell")

	f.apply(statusCreated(f.team, "sts_hot", "Hot", 1), statusChanged(l, "alice", "sts_hot", at(4)))
	p = f.prospect(prs)
	eq(t, "status id", p.StatusID, "sts_hot")
	if p.Status == nil || p.Status.Name != "Hot" || p.Status.Position != 1 {
		t.Errorf("prospect status = %+v, want Hot", p.Status)
	}
	th := f.thread(thr)
	if th.Prospect == nil || th.Prospect.Status == nil || th.Prospect.Status.ID != "sts_hot" {
		t.Errorf("thread's prospect status = %+v, want sts_hot", th.Prospect)
	}
	page := f.threads(all)
	if len(page) != 1 || page[0].Prospect == nil || page[0].Prospect.Status == nil || page[0].Prospect.Status.Name != "Hot" {
		t.Errorf("listed thread's prospect = %+v, want status Hot", page)
	}
	f.apply(tagCreated(f.team, "tag_b", "beta"), tagCreated(f.team, "tag_a", "alpha"),
		tagged(l, "alice", "tag_b", at(5)), tagged(l, "alice", "tag_a", at(5)), tagged(l, "alice", "tag_a", at(5)))
	page = f.threads(all)
	eqIDs(t, "listed thread's prospect tags, by name", tagIDs(page[0].Prospect.Tags), []string{"tag_a", "tag_b"})
	ps := f.prospects(projections.ProspectQuery{})
	if len(ps) != 1 || ps[0].Status == nil || ps[0].Status.ID != "sts_hot" {
		t.Fatalf("prospects = %+v, want alice with her status", ps)
	}
	eqIDs(t, "listed prospect tags", tagIDs(ps[0].Tags), []string{"tag_a", "tag_b"})
	eq(t, "listed prospect notes", ps[0].Notes, "")
	f.apply(untagged(l, "alice", "tag_b", at(6)))
	eqIDs(t, "tags after untag", tagIDs(f.prospect(prs).Tags), []string{"tag_a"})
}

func testTeamConfiguration(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	ctx := f.ctx
	f.apply(teamEvent(f.team, at(0), domain.TeamCreated{TeamID: f.team, Name: "Acme"}))
	team, err := s.Team(ctx, f.team)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "team name", team.Name, "Acme")
	eqTime(t, "team created at", team.CreatedAt, at(0))
	_, err = s.Team(ctx, domain.NewID(domain.PrefixTeam))
	notFound(t, "unknown team", err)

	// Ids and names in another order than the times, so only the time can give the order.
	f.apply(memberAdded(f.team, "mem_a", "bo", at(2)), memberAdded(f.team, "mem_c", "cy", at(1)), memberAdded(f.team, "mem_b", "ann", at(3)))
	members, err := s.Members(ctx, f.team)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	eqIDs(t, "members, oldest first", ids, []string{"mem_c", "mem_a", "mem_b"})
	m, err := s.Member(ctx, f.team, "mem_a")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "member email", m.Email, "bo@example.com")
	eq(t, "member name", m.Name, "bo")
	eq(t, "member role", m.Role, "agent")
	eqTime(t, "member created at", m.CreatedAt, at(2))
	_, err = s.Member(ctx, f.team, "mem_unknown")
	notFound(t, "unknown member", err)

	f.apply(tagCreated(f.team, "tag_g", "gamma"), tagCreated(f.team, "tag_a", "alpha"), tagCreated(f.team, "tag_b", "beta"))
	eqIDs(t, "tags by name", tagIDs(mustTags(t, f)), []string{"tag_a", "tag_b", "tag_g"})
	tag, err := s.Tag(ctx, f.team, "tag_b")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "tag name", tag.Name, "beta")
	eq(t, "tag color", tag.Color, "#beta")

	f.apply(statusCreated(f.team, "sts_won", "Won", 3), statusCreated(f.team, "sts_new", "New", 1),
		statusCreated(f.team, "sts_lost", "Lost", 3), statusCreated(f.team, "sts_talk", "Talking", 2))
	statuses, err := s.Statuses(ctx, f.team)
	if err != nil {
		t.Fatal(err)
	}
	ids = nil
	for _, st := range statuses {
		ids = append(ids, st.ID)
	}
	eqIDs(t, "statuses by position, then name", ids, []string{"sts_new", "sts_talk", "sts_lost", "sts_won"})
	st, err := s.Status(ctx, f.team, "sts_talk")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "status name", st.Name, "Talking")
	eq(t, "status position", st.Position, int32(2))
	_, err = s.Status(ctx, f.team, "sts_unknown")
	notFound(t, "unknown status", err)
	_, err = s.Tag(ctx, f.team, "tag_unknown")
	notFound(t, "unknown tag", err)

	// A repeated configuration event (an upsert) does not duplicate anything.
	f.apply(tagCreated(f.team, "tag_a", "alpha"), statusCreated(f.team, "sts_new", "New", 1), memberAdded(f.team, "mem_c", "cy", at(1)))
	eq(t, "tags after a repeat", len(mustTags(t, f)), 3)
	statuses, _ = s.Statuses(ctx, f.team)
	eq(t, "statuses after a repeat", len(statuses), 4)
	members, _ = s.Members(ctx, f.team)
	eq(t, "members after a repeat", len(members), 3)
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testAPIKeys(t *testing.T, s projections.Store) {
	a, b := newFx(t, s), newFx(t, s)
	ctx := a.ctx
	n, err := s.CountAPIKeys(ctx)
	if err != nil || n != 0 {
		t.Fatalf("CountAPIKeys of a new store = %d, %v; want 0", n, err)
	}
	key := func(team, id, member, hash string, admin bool) domain.Event {
		return teamEvent(team, at(1), domain.APIKeyCreated{KeyID: id, MemberID: member, KeyHash: hash, InstanceAdmin: admin})
	}
	ha, ha2, hb := "sha256:"+domain.NewID(""), "sha256:"+domain.NewID(""), "sha256:"+domain.NewID("")
	a.apply(key(a.team, "key_a1", "mem_owner", ha, true), key(a.team, "key_a2", "mem_agent", ha2, false))
	b.apply(key(b.team, "key_b1", "mem_owner", hb, false))
	a.apply(key(a.team, "key_a1", "mem_owner", ha, true)) // a redelivered key is still one key

	n, err = s.CountAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "keys of every team", n, 3)
	k, err := s.APIKeyByHash(ctx, ha)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "key id", k.ID, "key_a1")
	eq(t, "key team", k.TeamID, a.team)
	eq(t, "key member", k.MemberID, "mem_owner")
	eq(t, "key instance admin", k.InstanceAdmin, true)
	eq(t, "key hash", k.Hash, ha)
	eqTime(t, "key created at", k.CreatedAt, at(1))
	k, err = s.APIKeyByHash(ctx, hb)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "other team's key", k.TeamID, b.team)
	eq(t, "other team's key admin", k.InstanceAdmin, false)
	_, err = s.APIKeyByHash(ctx, "sha256:unknown")
	notFound(t, "unknown key hash", err)
}

func testTenantIsolation(t *testing.T, s projections.Store) {
	a, b := newFx(t, s), newFx(t, s)
	ctx := a.ctx
	la := a.link(domain.PlatformMessenger, "page-shared", at(0))
	lb := b.link(domain.PlatformMessenger, "page-shared", at(0))
	a.apply(
		memberAdded(a.team, "mem_1", "ann", at(0)),
		tagCreated(a.team, "tag_1", "vip"),
		statusCreated(a.team, "sts_1", "Won", 1),
		received(la, "alice", "m1", domain.Inbound, "hi team A", at(1)),
		tagged(la, "alice", "tag_1", at(2)),
		statusChanged(la, "alice", "sts_1", at(2)),
		assigned(la, "alice", "mem_1", at(2)),
	)
	// The same person writes to team B: B sees its own prospect and a first contact.
	b.apply(received(lb, "alice", "m1", domain.Inbound, "hi team B", at(3)))
	if prospectID(la, "alice") == prospectID(lb, "alice") || threadID(la, "alice") == threadID(lb, "alice") {
		t.Fatal("teams share derived ids")
	}
	eq(t, "team B's thread is a request", b.thread(threadID(lb, "alice")).Request, true)
	bp := b.prospect(prospectID(lb, "alice"))
	eq(t, "team B's prospect has no tags of team A", len(bp.Tags), 0)
	eq(t, "team B's prospect has no status of team A", bp.Status == nil, true)

	aThr, aPrs, aMsg := threadID(la, "alice"), prospectID(la, "alice"), messageID(la, "m1")
	// Team B's events naming team A's ids change nothing of team A.
	b.apply(
		onThread(lb, "alice", at(4), domain.ThreadDone{ThreadID: aThr, ProspectID: aPrs}),
		onThread(lb, "alice", at(4), domain.ThreadRead{ThreadID: aThr, ProspectID: aPrs}),
		onThread(lb, "alice", at(4), domain.ThreadUnassigned{ThreadID: aThr, ProspectID: aPrs}),
		onThread(lb, "alice", at(4), domain.MessageEdited{MessageID: aMsg, ThreadID: aThr, ProspectID: aPrs, Text: "hacked"}),
		onThread(lb, "alice", at(4), domain.ProspectUntagged{ProspectID: aPrs, TagID: "tag_1"}),
		onThread(lb, "alice", at(4), domain.ProspectContextUpdated{ProspectID: aPrs, Notes: "hacked"}),
		teamEvent(b.team, at(4), domain.TagDeleted{TagID: "tag_1"}),
		teamEvent(b.team, at(4), domain.AccountUnlinked{AccountLinkID: la.ID}),
	)
	th := a.thread(aThr)
	eq(t, "team A's thread done", th.Done, false)
	eq(t, "team A's unread", th.UnreadCount, int32(1))
	eq(t, "team A's assignee", th.AssigneeMemberID, "mem_1")
	eq(t, "team A's preview", th.LastMessageText, "hi team A")
	eq(t, "team A's message", a.message(aMsg).Text, "hi team A")
	ap := a.prospect(aPrs)
	eqIDs(t, "team A's prospect tags", tagIDs(ap.Tags), []string{"tag_1"})
	eq(t, "team A's prospect notes", ap.Notes, "")
	if l, err := s.AccountLink(ctx, a.team, la.ID); err != nil || !l.Active {
		t.Errorf("team A's link = %+v, %v; want active", l, err)
	}

	// Team B reads nothing of team A.
	var err error
	_, err = s.Member(ctx, b.team, "mem_1")
	notFound(t, "Member of another team", err)
	_, err = s.Tag(ctx, b.team, "tag_1")
	notFound(t, "Tag of another team", err)
	_, err = s.Status(ctx, b.team, "sts_1")
	notFound(t, "Status of another team", err)
	_, err = s.AccountLink(ctx, b.team, la.ID)
	notFound(t, "AccountLink of another team", err)
	_, err = s.Prospect(ctx, b.team, aPrs)
	notFound(t, "Prospect of another team", err)
	_, err = s.Thread(ctx, b.team, aThr)
	notFound(t, "Thread of another team", err)
	_, err = s.Message(ctx, b.team, aMsg)
	notFound(t, "Message of another team", err)
	if ms, _ := s.Members(ctx, b.team); len(ms) != 0 {
		t.Errorf("Members of team B = %+v", ms)
	}
	if ts, _ := s.Tags(ctx, b.team); len(ts) != 0 {
		t.Errorf("Tags of team B = %+v", ts)
	}
	if ss, _ := s.Statuses(ctx, b.team); len(ss) != 0 {
		t.Errorf("Statuses of team B = %+v", ss)
	}
	if ls := mustLinks(t, b); len(ls) != 1 || ls[0].ID != lb.ID {
		t.Errorf("AccountLinks of team B = %+v", ls)
	}
	b.wantThreads("team B, ALL", all, threadID(lb, "alice"))
	b.wantThreads("team B, team A's prospect", projections.ThreadQuery{View: projections.ViewAll, ProspectID: aPrs})
	b.wantThreads("team B, team A's tag", projections.ThreadQuery{View: projections.ViewAll, TagID: "tag_1"})
	b.wantThreads("team B, team A's status", projections.ThreadQuery{View: projections.ViewAll, StatusID: "sts_1"})
	b.wantThreads("team B, team A's member", projections.ThreadQuery{View: projections.ViewAll, AssigneeMemberID: "mem_1"})
	b.wantThreads("team B, team A's link", projections.ThreadQuery{View: projections.ViewAll, AccountLinkID: la.ID})
	if ms, _ := s.Messages(ctx, projections.MessageQuery{TeamID: b.team, ThreadID: aThr, Limit: 100}); len(ms) != 0 {
		t.Errorf("Messages of team A's thread for team B = %+v", ms)
	}
	eqIDs(t, "Prospects of team B", prospectIDs(b.prospects(projections.ProspectQuery{})), []string{prospectID(lb, "alice")})
	eqIDs(t, "Prospects of team B with team A's tag", prospectIDs(b.prospects(projections.ProspectQuery{TagID: "tag_1"})), []string{})
	if tags, _ := s.ProspectTags(ctx, b.team, []string{aPrs}); len(tags[aPrs]) != 0 {
		t.Errorf("ProspectTags of team A's prospect for team B = %+v", tags)
	}
	// And team A still sees its own.
	a.wantThreads("team A, tag", projections.ThreadQuery{View: projections.ViewAll, TagID: "tag_1"}, aThr)
}

// snapshot is everything a team's clients can read.
type snapshot struct {
	Team       projections.Team
	Threads    []projections.Thread
	Messages   map[string][]projections.Message
	Prospects  []projections.Prospect
	Tags       []projections.Tag
	Tagged     map[string][]string // the threads of each tag, by the tag filter
	Statuses   []projections.Status
	Members    []projections.Member
	Links      []projections.AccountLink
	Checkpoint string
}

func (f *fx) snapshot() snapshot {
	f.t.Helper()
	var sn snapshot
	var err error
	if sn.Team, err = f.s.Team(f.ctx, f.team); err != nil {
		f.t.Fatal(err)
	}
	sn.Threads = f.threads(all)
	sn.Messages = map[string][]projections.Message{}
	for _, th := range sn.Threads {
		sn.Messages[th.ID] = f.messages(th.ID)
	}
	sn.Prospects = f.prospects(projections.ProspectQuery{})
	sn.Tags = mustTags(f.t, f)
	sn.Tagged = map[string][]string{}
	for _, g := range sn.Tags {
		sn.Tagged[g.ID] = threadIDs(f.threads(projections.ThreadQuery{View: projections.ViewAll, TagID: g.ID}))
	}
	if sn.Statuses, err = f.s.Statuses(f.ctx, f.team); err != nil {
		f.t.Fatal(err)
	}
	if sn.Members, err = f.s.Members(f.ctx, f.team); err != nil {
		f.t.Fatal(err)
	}
	sn.Links = mustLinks(f.t, f)
	cp, err := f.s.Checkpoint(f.ctx, projections.ReadModelProjection)
	if err != nil {
		f.t.Fatal(err)
	}
	sn.Checkpoint = cp.String()
	return sn
}

func testResetAndReplay(t *testing.T, s projections.Store) {
	ctx := context.Background()
	f := newFx(t, s)
	la := newLink(f.team, domain.PlatformMessenger, "page-1")
	li := newLink(f.team, domain.PlatformInstagram, "ig-1")
	log := []domain.Event{
		teamEvent(f.team, at(0), domain.TeamCreated{TeamID: f.team, Name: "Acme"}),
		memberAdded(f.team, "mem_1", "ann", at(0)),
		teamEvent(f.team, at(0), domain.APIKeyCreated{KeyID: "key_1", MemberID: "mem_1", KeyHash: "sha256:" + domain.NewID("")}),
		tagCreated(f.team, "tag_1", "vip"),
		tagCreated(f.team, "tag_2", "cold"),
		statusCreated(f.team, "sts_1", "Won", 1),
		linked(la, at(0)),
		linked(li, at(0)),
		received(la, "alice", "a1", domain.Inbound, "hello", at(1)),
		received(la, "alice", "a2", domain.Outbound, "hi alice", at(2)),
		received(li, "bob", "b1", domain.Inbound, "yo", at(2)),
		received(la, "carol", "c1", domain.Inbound, "question", at(3)),
		backfilled(received(la, "carol", "c0", domain.Outbound, "earlier", at(1))),
		tagged(la, "alice", "tag_1", at(4)),
		tagged(li, "bob", "tag_2", at(4)),
		teamEvent(f.team, at(4), domain.TagDeleted{TagID: "tag_2"}),
		statusChanged(la, "carol", "sts_1", at(4)),
		assigned(li, "bob", "mem_1", at(5)),
		edited(la, "alice", "a2", "hi alice!", at(5)),
		deleted(la, "carol", "c1", at(5)),
		done(la, "alice", at(6)),
		read(li, "bob", at(6)),
		onThread(la, "carol", at(6), domain.ProspectContextUpdated{ProspectID: prospectID(la, "carol"), Notes: "n",
			Valuation: 3.5, CustomFields: map[string]string{"k": "v"}}),
		teamEvent(f.team, at(7), domain.AccountHealthChanged{AccountLinkID: li.ID, Healthy: false, Reason: "expired"}),
	}
	p := projections.NewProjector(nil, s, slog.New(slog.DiscardHandler))
	recs := records(0, 0, log...)
	if err := p.Handle(ctx, recs[:10]); err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(ctx, recs[10:]); err != nil {
		t.Fatal(err)
	}
	before := f.snapshot()
	wantCP := eventlog.Cursor{0: int64(len(log) - 1)}.String()
	if len(before.Threads) != 3 || len(before.Prospects) != 3 || before.Checkpoint != wantCP {
		t.Fatalf("before reset: %d threads, %d prospects, checkpoint %q", len(before.Threads), len(before.Prospects), before.Checkpoint)
	}

	if err := s.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	eq(t, "threads after reset", len(f.threads(all)), 0)
	eq(t, "prospects after reset", len(f.prospects(projections.ProspectQuery{})), 0)
	eq(t, "tags after reset", len(mustTags(t, f)), 0)
	eq(t, "links after reset", len(mustLinks(t, f)), 0)
	_, err := s.Team(ctx, f.team)
	notFound(t, "team after reset", err)
	if n, err := s.CountAPIKeys(ctx); err != nil || n != 0 {
		t.Errorf("CountAPIKeys after reset = %d, %v", n, err)
	}
	if cp, err := s.Checkpoint(ctx, projections.ReadModelProjection); err != nil || cp == nil || len(cp) != 0 {
		t.Errorf("checkpoint after reset = %#v, %v; want an empty cursor", cp, err)
	}

	// The projector replays the whole log, in other batches. Until it replays the tagging,
	// the tag filter finds nothing: no thread keeps its tag through a reset.
	tagging := 13
	if _, ok := log[tagging].Payload.(domain.ProspectTagged); !ok {
		t.Fatalf("event %d is a %s, not the tagging", tagging, log[tagging].Type())
	}
	replay := func(recs []eventlog.Record) {
		for i := 0; i < len(recs); i += 7 {
			if err := p.Handle(ctx, recs[i:min(i+7, len(recs))]); err != nil {
				t.Fatal(err)
			}
		}
	}
	replay(recs[:tagging])
	f.wantThreads("tag_1 before its tagging is replayed", projections.ThreadQuery{View: projections.ViewAll, TagID: "tag_1"})
	replay(recs[tagging:])
	after := f.snapshot()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("read model after reset and replay differs:\nbefore %+v\nafter  %+v", before, after)
	}
}
