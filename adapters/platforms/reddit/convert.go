package reddit

import (
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// listing is a Reddit Listing ({"kind": "Listing", "data": {"children": […]}}).
type listing struct {
	Kind string `json:"kind"`
	Data struct {
		After    string  `json:"after"`
		Before   string  `json:"before"`
		Children []thing `json:"children"`
	} `json:"data"`
}

// thing is one child: a kind (t4 private message, t1 comment) and its data.
type thing struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

// message is the data of a t4 (and the fields of a t1 the adapter reads).
type message struct {
	Name             string          `json:"name"`
	Author           string          `json:"author"`
	Dest             string          `json:"dest"`
	Subject          string          `json:"subject"`
	Body             string          `json:"body"`
	Subreddit        string          `json:"subreddit"`
	ParentID         string          `json:"parent_id"`
	FirstMessageName string          `json:"first_message_name"`
	Type             string          `json:"type"`
	CreatedUTC       float64         `json:"created_utc"`
	Replies          json.RawMessage `json:"replies"` // "" or a Listing of the replies
}

// converter turns one account's inbox things into platform items.
type converter struct {
	self string // the account's username
}

// items converts things, and the replies nested in them (a thread's listing nests its
// follow-ups), in order.
func (cv converter) items(things []thing) []domain.PlatformItem {
	var out []domain.PlatformItem
	for _, th := range things {
		raw, _ := json.Marshal(th)
		var m message
		if err := json.Unmarshal(th.Data, &m); err != nil {
			out = append(out, domain.PlatformOther{Kind: "malformed_" + th.Kind, Raw: raw})
			continue
		}
		switch th.Kind {
		case "t4":
			out = append(out, cv.message(m, raw))
		case "t1":
			// A comment reply, post reply or mention: not a conversation of the inbox.
			kind := m.Type
			if kind == "" || kind == "unknown" {
				kind = "comment_reply"
			}
			out = append(out, domain.PlatformOther{Kind: kind, Raw: raw, At: created(m.CreatedUTC)})
		default:
			out = append(out, domain.PlatformOther{Kind: "thing_" + th.Kind, Raw: raw, At: created(m.CreatedUTC)})
		}
		if len(m.Replies) > 0 && m.Replies[0] == '{' {
			var replies listing
			if json.Unmarshal(m.Replies, &replies) == nil {
				out = append(out, cv.items(replies.Data.Children)...)
			}
		}
	}
	return out
}

// message: the thread is the root message (first_message_name, null on the root itself); the
// prospect is the other party: the author of what we received, the recipient of what we sent.
// A message with no author comes from a subreddit's moderators; a recipient "#name" is a
// subreddit: both are the prospect "#<subreddit>".
func (cv converter) message(m message, raw []byte) domain.PlatformItem {
	conv := m.FirstMessageName
	if conv == "" {
		conv = m.Name
	}
	it := domain.PlatformMessage{PlatformMessageID: m.Name, ConversationID: conv, Direction: domain.Inbound,
		Text: m.Body, SentAt: created(m.CreatedUTC), Raw: raw}
	other := m.Author
	if other == "" && m.Subreddit != "" {
		other = "#" + m.Subreddit
	}
	if strings.EqualFold(m.Author, cv.self) {
		it.Direction, other = domain.Outbound, m.Dest
	}
	it.Prospect = participant(other)
	if it.PlatformMessageID == "" || other == "" {
		// No name or nobody to attribute it to: recorded raw, as ReceivePlatform would.
		return domain.PlatformOther{Kind: "invalid_message", Raw: raw, At: it.SentAt}
	}
	if strings.HasPrefix(m.ParentID, "t4_") {
		it.ReplyToPlatformMessageID = m.ParentID
	}
	return it
}

func participant(name string) domain.Participant {
	if sub, ok := strings.CutPrefix(name, "#"); ok {
		return domain.Participant{PlatformID: name, DisplayName: "r/" + sub}
	}
	return domain.Participant{PlatformID: name, Username: name}
}

// created reads created_utc: epoch seconds as a float.
func created(s float64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
