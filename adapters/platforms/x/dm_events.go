package x

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// v2Event is a v2 dm_events object.
type v2Event struct {
	ID               string `json:"id"`
	EventType        string `json:"event_type"` // MessageCreate, ParticipantsJoin, ParticipantsLeave
	Text             string `json:"text"`
	SenderID         string `json:"sender_id"`
	DMConversationID string `json:"dm_conversation_id"`
	CreatedAt        string `json:"created_at"` // ISO 8601
	Attachments      struct {
		MediaKeys []string `json:"media_keys"`
	} `json:"attachments"`
	ReferencedTweets []struct {
		ID string `json:"id"`
	} `json:"referenced_tweets"`
}

// dmPage is one page of GET /2/dm_events: its events newest first, as X returns them.
type dmPage struct {
	events []polled
	next   string
}

type polled struct {
	id   string
	item domain.PlatformItem
}

// parseDMEvents reads a dm_events page. includes.users fill the messages' participants and
// includes.media their attachments.
func parseDMEvents(body []byte, link platforms.Link) (dmPage, error) {
	var res struct {
		Data     []json.RawMessage `json:"data"`
		Includes struct {
			Users []struct {
				ID string `json:"id"`
				userObj
			} `json:"users"`
			Media []media `json:"media"`
		} `json:"includes"`
		Meta struct {
			NextToken string `json:"next_token"`
		} `json:"meta"`
		Errors []problem `json:"errors"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return dmPage{}, fmt.Errorf("x: not a dm_events page: %w", err)
	}
	if res.Data == nil && len(res.Errors) > 0 {
		return dmPage{}, fmt.Errorf("x: dm_events: %s", res.Errors[0])
	}
	users := map[string]userObj{}
	for _, u := range res.Includes.Users {
		users[u.ID] = u.userObj
	}
	mediaByKey := map[string]media{}
	for _, m := range res.Includes.Media {
		mediaByKey[m.MediaKey] = m
	}
	page := dmPage{next: res.Meta.NextToken}
	for _, raw := range res.Data {
		var e v2Event
		if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" {
			return dmPage{}, errors.New("x: a dm_events element is not a DM event")
		}
		page.events = append(page.events, polled{id: e.ID, item: e.item(compact(raw), link.PlatformID, users, mediaByKey)})
	}
	return page, nil
}

func (e v2Event) item(raw []byte, own string, users map[string]userObj, mediaByKey map[string]media) domain.PlatformItem {
	at, _ := time.Parse(time.RFC3339, e.CreatedAt)
	if e.EventType != "MessageCreate" {
		// ParticipantsJoin, ParticipantsLeave: group membership, not modelled.
		return domain.PlatformOther{Kind: first(e.EventType, "unknown"), Raw: raw, At: at}
	}
	conv := e.DMConversationID
	if e.SenderID == "" || conv == "" {
		// Without sender_id and dm_conversation_id (X's default fields) nobody can say who
		// wrote it to whom: kept raw. The poller always asks for both.
		return domain.PlatformOther{Kind: "MessageCreate.unattributed", Raw: raw, At: at}
	}
	m := domain.PlatformMessage{PlatformMessageID: e.ID, ConversationID: conv, Direction: domain.Inbound,
		Prospect: users[e.SenderID].participant(e.SenderID), Text: e.Text, SentAt: at, Raw: raw}
	if e.SenderID == own {
		m.Direction, m.Sender = domain.Outbound, users[own].participant(own)
		if other := otherParty(conv, own); other != "" {
			m.Prospect = users[other].participant(other)
		} else {
			// Our message to a group: the group is the other side.
			m.Prospect = domain.Participant{PlatformID: conv}
		}
	}
	for _, k := range e.Attachments.MediaKeys {
		md, ok := mediaByKey[k]
		if !ok {
			md = media{MediaKey: k}
		}
		m.Attachments = append(m.Attachments, md.attachment())
	}
	for _, t := range e.ReferencedTweets {
		m.Attachments = append(m.Attachments, domain.Attachment{Type: "share", URL: "https://x.com/i/web/status/" + t.ID, PlatformID: t.ID})
	}
	return m
}

// otherParty is the other user of a one-to-one conversation id ("<a>-<b>"), or "" for a
// group's.
func otherParty(conv, own string) string {
	a, b, ok := strings.Cut(conv, "-")
	switch {
	case !ok:
		return ""
	case a == own:
		return b
	case b == own:
		return a
	}
	return ""
}

// problem is a v2 error object.
type problem struct {
	Title   string `json:"title"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
}

func (p problem) String() string {
	return strings.TrimSpace(first(p.Title, p.Message) + ": " + p.Detail)
}
