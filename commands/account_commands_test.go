package commands

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

func link(c LinkAccount) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.LinkAccount.Handle(ctx, a, c)
	}
}

func unlink(id string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.UnlinkAccount.Handle(ctx, a, UnlinkAccount{AccountLinkID: id})
	}
}

func linked(teamID string, c LinkAccount) (func(any) []wantEvent, func(*testing.T, any)) {
	id := domain.AccountLinkID(teamID, c.Platform, c.PlatformID)
	path := "/webhooks/" + c.Platform.String() + "/" + id
	return events(wantEvent{teamID, domain.AccountLinked{AccountLinkID: id, Platform: c.Platform,
			PlatformID: c.PlatformID, Username: c.Username, DisplayName: c.DisplayName, WebhookPath: path}}),
		func(t *testing.T, res any) {
			r := res.(AccountLinkResult)
			if r.AccountLinkID != id || r.WebhookPath != path {
				t.Errorf("result = %+v, want id %q and webhook path %q", r, id, path)
			}
		}
}

func TestAccountCommands(t *testing.T) {
	tooMany := map[string]string{}
	for i := range 21 {
		tooMany[fmt.Sprintf("k%d", i)] = "v"
	}
	tg := LinkAccount{Platform: domain.PlatformTelegram, PlatformID: "123456", Username: "acme_bot", DisplayName: "Acme",
		Credentials: map[string]string{"bot_token": "123456:AAE-secret-bot-token", "webhook_secret": "hook-secret-42"}}
	bare := LinkAccount{Platform: domain.PlatformAPI, PlatformID: "crm-9"}
	relink := LinkAccount{Platform: domain.PlatformAPI, PlatformID: "crm-1", DisplayName: "CRM renamed"}
	wTG, cTG := linked(teamA, tg)
	wBare, cBare := linked(teamA, bare)
	wRelink, cRelink := linked(teamA, relink)
	cases := []commandCase{
		{name: "link a telegram bot", run: link(tg), want: wTG, check: cTG},
		{name: "link without credentials", run: link(bare), want: wBare, check: cBare},
		{name: "relink a linked account keeps its id", actor: admin, run: link(relink), want: wRelink, check: cRelink},
		// Relinking replaces the credentials, and so who receives the account's webhooks.
		{name: "an agent relinks a linked account", run: link(relink), kind: domain.KindPermissionDenied, text: "relink"},
		{name: "link: missing platform", run: link(LinkAccount{PlatformID: "x"}), kind: domain.KindInvalid, text: "platform"},
		{name: "link: missing platform_id", run: link(LinkAccount{Platform: domain.PlatformX}), kind: domain.KindInvalid, text: "platform_id"},
		{name: "link: long platform_id", run: link(LinkAccount{Platform: domain.PlatformX, PlatformID: strings.Repeat("1", 257)}),
			kind: domain.KindInvalid, text: "platform_id"},
		{name: "link: long username", run: link(LinkAccount{Platform: domain.PlatformX, PlatformID: "1", Username: strings.Repeat("u", 257)}),
			kind: domain.KindInvalid, text: "username"},
		{name: "link: long display_name", run: link(LinkAccount{Platform: domain.PlatformX, PlatformID: "1", DisplayName: strings.Repeat("d", 257)}),
			kind: domain.KindInvalid, text: "display_name"},
		{name: "link: too many credentials", run: link(LinkAccount{Platform: domain.PlatformX, PlatformID: "1", Credentials: tooMany}),
			kind: domain.KindInvalid, text: "credentials"},
		{name: "link: empty credential name", run: link(LinkAccount{Platform: domain.PlatformX, PlatformID: "1", Credentials: map[string]string{"": "v"}}),
			kind: domain.KindInvalid, text: "credentials"},
		{name: "link: long credential value", run: link(LinkAccount{Platform: domain.PlatformX, PlatformID: "1",
			Credentials: map[string]string{"access_token": strings.Repeat("t", 4097)}}), kind: domain.KindInvalid, text: "credentials"},

		{name: "unlink", run: unlink(accAPI), want: events(wantEvent{teamA, domain.AccountUnlinked{AccountLinkID: accAPI}})},
		{name: "unlink twice", run: unlink(accUnlinked), kind: domain.KindPrecondition, text: "already unlinked"},
		{name: "unlink: missing account_link_id", run: unlink(""), kind: domain.KindInvalid, text: "account_link_id"},
		{name: "unlink: malformed account_link_id", run: unlink("acc_1"), kind: domain.KindInvalid, text: "account_link_id"},
		{name: "unlink: unknown link", run: unlink(accUnknown), kind: domain.KindNotFound, text: accUnknown},
		{name: "unlink: another team's link", run: unlink(accB), kind: domain.KindNotFound, text: accB},
	}
	runCommandCases(t, cases)
}

func TestLinkAccountKeepsCredentialsOutOfTheLog(t *testing.T) {
	e := newEnv(t)
	creds := map[string]string{
		"app_secret":   "meta-app-secret-5f2c",
		"access_token": "EAAG-long-lived-page-token",
		"verify_token": "verify-me-91",
	}
	r, err := e.app.LinkAccount.Handle(context.Background(), admin, LinkAccount{Platform: domain.PlatformMessenger,
		PlatformID: "page-77", Username: "acme", Credentials: creds, IdempotencyKey: "link-page-77"})
	if err != nil {
		t.Fatal(err)
	}
	wantID := domain.AccountLinkID(teamA, domain.PlatformMessenger, "page-77")
	if r.AccountLinkID != wantID || r.WebhookPath != "/webhooks/messenger/"+wantID {
		t.Errorf("result = %+v", r)
	}
	if got := e.creds.stored[[2]string{teamA, wantID}]; !maps.Equal(got, creds) {
		t.Errorf("credential store holds %v for the link, want %v", got, creds)
	}
	ev := e.log.since(0)
	if len(ev) != 1 {
		t.Fatalf("appended %d events", len(ev))
	}
	dump := fmt.Sprintf("%#v", ev[0])
	var remembered strings.Builder
	for _, rec := range e.idem.records {
		fmt.Fprintf(&remembered, "%#v %s", rec, rec.Result)
	}
	for name, v := range creds {
		if strings.Contains(dump, v) {
			t.Errorf("credential %s is in the event: %s", name, dump)
		}
		if strings.Contains(remembered.String(), v) {
			t.Errorf("credential %s is in the idempotency record", name)
		}
	}
}

func TestAccountLinkIDIsDeterministic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := LinkAccount{Platform: domain.PlatformWhatsApp, PlatformID: "+33600000000"}
	first, err := e.app.LinkAccount.Handle(ctx, agent, c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.app.LinkAccount.Handle(ctx, owner, c)
	if err != nil {
		t.Fatal(err)
	}
	otherTeam, err := e.app.LinkAccount.Handle(ctx, Actor{TeamID: teamB, MemberID: memberB, Role: "owner"}, c)
	if err != nil {
		t.Fatal(err)
	}
	otherPlatform, err := e.app.LinkAccount.Handle(ctx, agent, LinkAccount{Platform: domain.PlatformTelegram, PlatformID: c.PlatformID})
	if err != nil {
		t.Fatal(err)
	}
	if first.AccountLinkID != again.AccountLinkID {
		t.Errorf("relinking the same account gave %q then %q", first.AccountLinkID, again.AccountLinkID)
	}
	if otherTeam.AccountLinkID == first.AccountLinkID || otherPlatform.AccountLinkID == first.AccountLinkID {
		t.Error("another team or platform got the same account link id")
	}
	if len(e.creds.stored) != 0 {
		t.Errorf("links without credentials stored some: %v", e.creds.stored)
	}
}
