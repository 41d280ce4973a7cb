package bluesky

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky/blueskytest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/domain"
)

// fixtures says what every file of fixtures/platforms/bluesky must produce. Captures are
// converted and checked; lexicons are schema references: they must parse and define every
// field the poller reads (so a lexicon change that drops one fails here).
var fixtures = map[string]func(t *testing.T, b []byte){
	"getLog.response.idunno_capture.json":       checkGetLog,
	"listConvos.response.idunno_capture.json":   checkListConvos,
	"lexicons/chat.bsky.convo.defs.json":        checkDefsLexicon,
	"lexicons/chat.bsky.actor.defs.json":        checkActorLexicon,
	"lexicons/chat.bsky.convo.getLog.json":      checkQueryLexicon([]string{"cursor"}, []string{"cursor", "logs"}, nil),
	"lexicons/chat.bsky.convo.listConvos.json":  checkQueryLexicon([]string{"limit", "cursor"}, []string{"convos"}, nil),
	"lexicons/chat.bsky.convo.getConvo.json":    checkQueryLexicon([]string{"convoId"}, []string{"convo"}, []string{"InvalidConvo"}),
	"lexicons/chat.bsky.convo.getMessages.json": checkQueryLexicon([]string{"convoId", "limit"}, []string{"messages", "relatedProfiles"}, []string{"InvalidConvo"}),
	"lexicons/chat.bsky.convo.sendMessage.json": checkProcedureLexicon, // reference only: sending is not the poller's
	"lexicons/chat.bsky.convo.updateRead.json":  checkProcedureLexicon, // reference only: marking read is not the poller's
}

func TestFixtures(t *testing.T) {
	dir := polltest.FixtureDir(t, "bluesky")
	polltest.Covered(t, dir, slices.Collect(maps.Keys(fixtures)))
	for name, check := range fixtures {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(b) {
				t.Fatal("not JSON")
			}
			check(t, b)
		})
	}
}

// fixtureConvos are the convos of the listConvos capture, as the poller learns them.
func fixtureConvos(t *testing.T) map[string]convo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(polltest.FixtureDir(t, "bluesky"), "listConvos.response.idunno_capture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Convos []convoView `json:"convos"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]convo{}
	for _, c := range list.Convos {
		out[c.ID] = convoOf(c)
	}
	return out
}

const (
	didBarry   = "did:plc:hfgp6pj3akhqxntgqwramlbg" // blowdart.me
	didBot2    = "did:plc:mvgsfujvam5iekxlk3howidu" // anotherbot.idunno.blue
	convoBarry = "3kt4jgm5nc32q"                    // direct, with Barry
	convoBot2  = "3lcsswcbumw23"                    // direct, with Test Bot #2
	convoGroup = "3moh3ak5nq32s"                    // group "Test Group Chat"
	convoGone  = "3mp4urwifv22y"                    // a group the capture's listConvos does not show
)

// The getLog capture, seen by the account bot.idunno.blue: 84 entries become 18 messages and
// 66 unhandled kinds; a direct convo is with its other member, a group message with its author
// (the group itself for what the account writes).
func checkGetLog(t *testing.T, b []byte) {
	var out getLogOutput
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Cursor != blueskytest.CapturedCursor || len(out.Logs) != 84 {
		t.Fatalf("cursor %q, %d logs", out.Cursor, len(out.Logs))
	}
	convos := fixtureConvos(t)
	convos[convoGone] = convo{} // getConvo answers InvalidConvo
	items, err := converter{self: blueskytest.DID, convos: convos}.logItems(out.Logs)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(out.Logs) {
		t.Fatalf("%d items for %d logs: every entry must give one", len(items), len(out.Logs))
	}
	msgs := map[string]domain.PlatformMessage{}
	other := map[string]int{}
	dirs := map[[2]string]int{}
	for _, it := range items {
		switch it := it.(type) {
		case domain.PlatformMessage:
			msgs[it.PlatformMessageID] = it
			dirs[[2]string{it.ConversationID, it.Direction.String()}]++
			if len(it.Raw) == 0 || it.SentAt.IsZero() {
				t.Errorf("message %s: no raw payload or time", it.PlatformMessageID)
			}
		case domain.PlatformOther:
			other[it.Kind]++
			if len(it.Raw) == 0 {
				t.Errorf("%s without its raw payload", it.Kind)
			}
		default:
			t.Errorf("unexpected item %T", it)
		}
	}
	if len(msgs) != 18 {
		t.Errorf("%d messages, want 18 (the logCreateMessage entries)", len(msgs))
	}
	wantOther := map[string]int{"logReadMessage": 50, "logReadConvo": 8, "logBeginConvo": 3, "logCreateJoinLink": 2,
		"logLeaveConvo": 1, "logAddReaction": 1, "logMemberJoin": 1}
	if !maps.Equal(other, wantOther) {
		t.Errorf("unhandled kinds = %v, want %v", other, wantOther)
	}
	wantDirs := map[[2]string]int{{convoBarry, "outbound"}: 7, {convoBarry, "inbound"}: 6, {convoBot2, "inbound"}: 1,
		{convoGroup, "inbound"}: 1, {convoGone, "inbound"}: 2, {convoGone, "outbound"}: 1}
	if !maps.Equal(dirs, wantDirs) {
		t.Errorf("messages by convo and direction = %v, want %v", dirs, wantDirs)
	}

	for _, c := range []struct {
		id       string
		convo    string
		dir      domain.Direction
		text     string
		prospect string // its platform id
		name     string // its display name
		sender   string // outbound: the account
		at       string
		att      []domain.Attachment
	}{
		{"3l7dmb2oa4p26", convoBarry, domain.Inbound, "You smell funny", didBarry, "Barry Dorrans", "", "2024-10-25T12:49:50.984Z", nil},
		{"3l7dnormcv22u", convoBarry, domain.Outbound, "", didBarry, "Barry Dorrans", blueskytest.DID, "2024-10-25T13:15:24.989Z", nil},
		{"3lqwm5fnemw2i", convoBarry, domain.Outbound, "DM with post attached", didBarry, "Barry Dorrans", blueskytest.DID, "2025-06-06T10:16:41.022Z",
			[]domain.Attachment{{Type: "post", PlatformID: "at://did:plc:7xkc5gsqnj33qs3fsa2mewzj/app.bsky.feed.post/3lqvtxtvtfc2q",
				URL: "https://bsky.app/profile/did:plc:7xkc5gsqnj33qs3fsa2mewzj/post/3lqvtxtvtfc2q"}}},
		{"3llx3iwuxq32n", convoBot2, domain.Inbound, "You smell", didBot2, "Test Bot #2", "", "2025-04-03T23:45:36.184Z", nil},
		// A group: each message's prospect is who wrote it...
		{"3moh3aswtrx2h", convoGroup, domain.Inbound, "This is a group chat", didBot2, "Test Bot #2", "", "2026-06-17T00:40:14.774Z", nil},
		{"3mp4v66f3nc2w", convoGone, domain.Inbound, "", didBarry, "", "", "2026-06-25T16:49:57.905Z", nil},
		// ...and the group itself is the other side of what the account writes.
		{"3mp4usrcmrk2g", convoGone, domain.Outbound, "", convoGone, "", blueskytest.DID, "2026-06-25T16:43:35.094Z", nil},
	} {
		m, ok := msgs[c.id]
		if !ok {
			t.Errorf("message %s missing", c.id)
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, c.at)
		if m.ConversationID != c.convo || m.Direction != c.dir || m.Prospect.PlatformID != c.prospect ||
			(c.name != "" && m.Prospect.DisplayName != c.name) || !m.SentAt.Equal(at) || m.Sender.PlatformID != c.sender ||
			(c.text != "" && m.Text != c.text) || !slices.Equal(m.Attachments, c.att) {
			t.Errorf("message %s = convo %s %v prospect %+v sender %+v at %v text %q attachments %+v", c.id, m.ConversationID,
				m.Direction, m.Prospect, m.Sender, m.SentAt, m.Text, m.Attachments)
		}
	}
	// Profiles: the convo's members, or the entry's relatedProfiles.
	if p := msgs["3l7dmb2oa4p26"].Prospect; p.Username != "blowdart.me" || p.AvatarURL == "" {
		t.Errorf("direct prospect = %+v, want Barry's profile", p)
	}
	if s := msgs["3l7dnormcv22u"].Sender; s.Username != "bot.idunno.blue" {
		t.Errorf("outbound sender = %+v, want the account's profile", s)
	}
	if p := msgs["3mp4valh3qs2t"].Prospect; p.PlatformID != didBot2 || p.Username != "anotherbot.idunno.blue" {
		t.Errorf("group message prospect = %+v, want its author's profile", p)
	}
}

// The listConvos capture: two direct convos, each with its other member, and a named group.
func checkListConvos(t *testing.T, b []byte) {
	var list struct {
		Convos []convoView `json:"convos"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Convos) != 3 {
		t.Fatalf("%d convos, want 3", len(list.Convos))
	}
	want := map[string]struct {
		group bool
		other string // a direct convo's other member
		name  string
	}{
		convoGroup: {true, "", "Test Group Chat"},
		convoBarry: {false, didBarry, "Barry Dorrans"},
		convoBot2:  {false, didBot2, "Test Bot #2"},
	}
	for _, v := range list.Convos {
		c := convoOf(v)
		w := want[v.ID]
		o, direct := c.other(blueskytest.DID)
		name := o.DisplayName
		if c.group {
			name = c.groupParticipant(v.ID).DisplayName
		}
		if c.group != w.group || direct == w.group || o.DID != w.other || name != w.name {
			t.Errorf("convo %s: group %v other %+v name %q, want %+v", v.ID, c.group, o, name, w)
		}
	}
}

type lexicon struct {
	ID   string `json:"id"`
	Defs map[string]struct {
		Type       string                     `json:"type"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
		Parameters struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"parameters"`
		Output struct {
			Schema struct {
				Type       string                     `json:"type"`
				Ref        string                     `json:"ref"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schema"`
		} `json:"output"`
		Errors []struct {
			Name string `json:"name"`
		} `json:"errors"`
	} `json:"defs"`
}

func parseLexicon(t *testing.T, b []byte) lexicon {
	t.Helper()
	var l lexicon
	if err := json.Unmarshal(b, &l); err != nil || l.ID == "" || len(l.Defs) == 0 {
		t.Fatalf("not a lexicon: %v", err)
	}
	return l
}

func hasFields(t *testing.T, what string, props map[string]json.RawMessage, fields ...string) {
	t.Helper()
	for _, f := range fields {
		if _, ok := props[f]; !ok {
			t.Errorf("%s has no field %q, which the poller reads", what, f)
		}
	}
}

// The defs define every object and field convert.go reads, under the $type names it matches.
func checkDefsLexicon(t *testing.T, b []byte) {
	l := parseLexicon(t, b)
	if l.ID+"#messageView" != typeMessageView || l.ID+"#logCreateMessage" != typeLogCreateMessage ||
		l.ID+"#logDeleteMessage" != typeLogDeleteMessage || l.ID+"#deletedMessageView" != typeDeletedMessageView ||
		l.ID+"#groupConvo" != typeGroupConvo {
		t.Fatalf("lexicon id %s does not name the types the poller matches", l.ID)
	}
	for def, fields := range map[string][]string{
		"messageView":        {"id", "rev", "text", "sender", "sentAt", "embed", "replyTo"},
		"deletedMessageView": {"id", "rev", "sender", "sentAt"},
		"messageViewSender":  {"did"},
		"logCreateMessage":   {"rev", "convoId", "message", "relatedProfiles"},
		"logDeleteMessage":   {"rev", "convoId", "message"},
		"convoView":          {"id", "members", "kind"},
		"groupConvo":         {"name"},
	} {
		d, ok := l.Defs[def]
		if !ok {
			t.Errorf("no def %s", def)
			continue
		}
		hasFields(t, def, d.Properties, fields...)
	}
}

func checkActorLexicon(t *testing.T, b []byte) {
	l := parseLexicon(t, b)
	hasFields(t, "profileViewBasic", l.Defs["profileViewBasic"].Properties, "did", "handle", "displayName", "avatar")
}

// checkQueryLexicon: a query the poller calls takes the parameters it sends and answers the
// fields it reads, with the errors it handles.
func checkQueryLexicon(params, output, errs []string) func(t *testing.T, b []byte) {
	return func(t *testing.T, b []byte) {
		l := parseLexicon(t, b)
		main := l.Defs["main"]
		if main.Type != "query" {
			t.Fatalf("%s is a %q, want a query", l.ID, main.Type)
		}
		hasFields(t, l.ID+" parameters", main.Parameters.Properties, params...)
		hasFields(t, l.ID+" output", main.Output.Schema.Properties, output...)
		for _, e := range errs {
			if !slices.ContainsFunc(main.Errors, func(x struct {
				Name string `json:"name"`
			}) bool {
				return x.Name == e
			}) {
				t.Errorf("%s does not declare error %s", l.ID, e)
			}
		}
	}
}

// checkProcedureLexicon: a schema reference the poller does not call; it must parse as a
// procedure (sendMessage answers a #messageView, the shape the poller reads from the log).
func checkProcedureLexicon(t *testing.T, b []byte) {
	l := parseLexicon(t, b)
	if l.Defs["main"].Type != "procedure" {
		t.Fatalf("%s is a %q, want a procedure", l.ID, l.Defs["main"].Type)
	}
	if l.ID == "chat.bsky.convo.sendMessage" && l.Defs["main"].Output.Schema.Ref != "chat.bsky.convo.defs#messageView" {
		t.Errorf("sendMessage answers %q, want a #messageView", l.Defs["main"].Output.Schema.Ref)
	}
}
