package domain

import (
	"strings"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	cases := []struct {
		in   string
		want Platform
	}{
		{"api", PlatformAPI},
		{"messenger", PlatformMessenger},
		{"instagram", PlatformInstagram},
		{"whatsapp", PlatformWhatsApp},
		{"telegram", PlatformTelegram},
		{"x", PlatformX},
		{"bluesky", PlatformBluesky},
		{"reddit", PlatformReddit},
		{"Telegram", PlatformTelegram},
		{"WHATSAPP", PlatformWhatsApp},
	}
	for _, c := range cases {
		got, err := ParsePlatform(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParsePlatform(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if again, err := ParsePlatform(got.String()); err != nil || again != got {
			t.Errorf("ParsePlatform(%q.String()) does not round-trip: %v, %v", c.in, again, err)
		}
	}
	for _, in := range []string{"", "facebook", "PLATFORM_API", " api", "api ", "twitter"} {
		got, err := ParsePlatform(in)
		if !got.IsZero() {
			t.Errorf("ParsePlatform(%q) = %v, want the zero platform", in, got)
		}
		assertInvalid(t, err, "platform")
	}
	if len(Platforms) != 8 {
		t.Errorf("Platforms has %d entries, want the 8 of the API enum", len(Platforms))
	}
	if !(Platform{}).IsZero() || PlatformAPI.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestParseDirection(t *testing.T) {
	for in, want := range map[string]Direction{"inbound": Inbound, "outbound": Outbound} {
		got, err := ParseDirection(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseDirection(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "INBOUND", "in", "DIRECTION_INBOUND", "sideways"} {
		got, err := ParseDirection(in)
		if !got.IsZero() {
			t.Errorf("ParseDirection(%q) = %v, want the zero direction", in, got)
		}
		assertInvalid(t, err, "direction")
	}
}

func TestParseRole(t *testing.T) {
	cases := []struct {
		in   string
		want Role
	}{
		{"", RoleAgent},
		{"owner", RoleOwner},
		{"admin", RoleAdmin},
		{"agent", RoleAgent},
	}
	for _, c := range cases {
		got, err := ParseRole("role", c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"Owner", "superuser", " admin", "instance_admin"} {
		_, err := ParseRole("member.role", in)
		assertInvalid(t, err, "member.role")
	}
}

func TestActorNames(t *testing.T) {
	if got := ActorMember("mem_x"); got != "member:mem_x" {
		t.Errorf("ActorMember = %q", got)
	}
	if got := ActorPlatform(PlatformTelegram); got != "platform:telegram" {
		t.Errorf("ActorPlatform = %q", got)
	}
}

func TestEventTypeNamesAreFrozenAndUnique(t *testing.T) {
	payloads := []Payload{TeamCreated{}, MemberAdded{}, APIKeyCreated{}, TagCreated{}, TagDeleted{},
		StatusCreated{}, AccountLinked{}, AccountUnlinked{}, AccountHealthChanged{}, MessageReceived{},
		MessageSendRequested{}, MessageSent{}, MessageSendFailed{}, MessageEdited{}, MessageDeleted{},
		ThreadRead{}, ThreadSeen{}, ThreadAssigned{}, ThreadUnassigned{}, ThreadDone{}, ThreadReopened{},
		ProspectProfileUpdated{}, ProspectTagged{}, ProspectUntagged{}, ProspectStatusChanged{},
		ProspectContextUpdated{}}
	seen := map[string]bool{}
	for _, p := range payloads {
		name := p.EventType()
		if seen[name] {
			t.Errorf("event type %q is used twice", name)
		}
		seen[name] = true
		if !strings.HasSuffix(name, ".v1") || strings.ToLower(name) != name {
			t.Errorf("event type %q is not a lower-case versioned name", name)
		}
	}
	if got := (Event{Payload: ThreadDone{}}).Type(); got != "thread.done.v1" {
		t.Errorf("Event.Type() = %q", got)
	}
}
