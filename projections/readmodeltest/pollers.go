package readmodeltest

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
)

// testActiveAccountLinks: the poll scheduler's work list spans teams, keeps only active links
// of the platforms asked for, and follows health changes, unlinks and relinks.
func testActiveAccountLinks(t *testing.T, s projections.Store) {
	f := newFx(t, s)
	other := newFx(t, s) // a second team in the same store
	blueA := newLink(f.team, domain.PlatformBluesky, "did:plc:a")
	redditA := newLink(f.team, domain.PlatformReddit, "alice")
	messengerA := newLink(f.team, domain.PlatformMessenger, "page-1")
	blueB := newLink(other.team, domain.PlatformBluesky, "did:plc:b")
	sick := newLink(f.team, domain.PlatformBluesky, "did:plc:sick")
	gone := newLink(other.team, domain.PlatformReddit, "gone")
	f.apply(linked(blueA, at(0)), linked(redditA, at(1)), linked(messengerA, at(2)), linked(sick, at(3)),
		teamEvent(f.team, at(4), domain.AccountHealthChanged{AccountLinkID: sick.ID, Healthy: false, Reason: "app password revoked"}))
	other.apply(linked(blueB, at(0)), linked(gone, at(1)), teamEvent(other.team, at(2), domain.AccountUnlinked{AccountLinkID: gone.ID}))

	list := func(platforms ...string) []string {
		t.Helper()
		links, err := f.s.ActiveAccountLinks(f.ctx, platforms)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range links {
			if !l.Active {
				t.Errorf("ActiveAccountLinks listed inactive link %s", l.ID)
			}
			out = append(out, l.ID)
		}
		return out
	}
	// Ordered by team, then id.
	want := func(links ...link) []string {
		var out []string
		for _, l := range links {
			out = append(out, l.ID)
		}
		sortLinks(out, links)
		return out
	}
	eqIDs(t, "bluesky and reddit links", list("bluesky", "reddit"), want(blueA, redditA, blueB))
	eqIDs(t, "reddit links", list("reddit"), want(redditA))
	eqIDs(t, "no platform", list(), nil)
	eqIDs(t, "a platform nobody linked", list("x"), nil)

	// Relinking a sick or unlinked link makes it active again.
	f.apply(linked(sick, at(5)))
	other.apply(linked(gone, at(5)))
	eqIDs(t, "after relinking", list("bluesky", "reddit"), want(blueA, redditA, sick, blueB, gone))

	links, err := f.s.ActiveAccountLinks(f.ctx, []string{"reddit"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.ID == redditA.ID {
			eq(t, "team of a listed link", l.TeamID, f.team)
			eq(t, "platform id of a listed link", l.PlatformID, "alice")
			eq(t, "platform of a listed link", l.Platform, "reddit")
		}
	}
}

// sortLinks orders ids as ActiveAccountLinks does: by team id, then id.
func sortLinks(ids []string, links []link) {
	team := map[string]string{}
	for _, l := range links {
		team[l.ID] = l.Team
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(strings.Compare(team[a], team[b]), strings.Compare(a, b))
	})
}
