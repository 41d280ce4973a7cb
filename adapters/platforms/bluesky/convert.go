package bluesky

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
)

// Lexicon type names the adapter reads ($type values of chat.bsky.convo.defs).
const (
	typeMessageView        = "chat.bsky.convo.defs#messageView"
	typeDeletedMessageView = "chat.bsky.convo.defs#deletedMessageView"
	typeLogCreateMessage   = "chat.bsky.convo.defs#logCreateMessage"
	typeLogDeleteMessage   = "chat.bsky.convo.defs#logDeleteMessage"
	typeGroupConvo         = "chat.bsky.convo.defs#groupConvo"
	typeEmbedRecordView    = "app.bsky.embed.record#view"
)

// profile is chat.bsky.actor.defs#profileViewBasic.
type profile struct {
	DID         string `json:"did"`
	Handle      string `json:"handle"`
	DisplayName string `json:"displayName"`
	Avatar      string `json:"avatar"`
}

func (p profile) participant() domain.Participant {
	return domain.Participant{PlatformID: p.DID, Username: p.Handle, DisplayName: p.DisplayName, AvatarURL: p.Avatar}
}

// convoView is chat.bsky.convo.defs#convoView, as far as the adapter reads it.
type convoView struct {
	ID      string    `json:"id"`
	Members []profile `json:"members"`
	Kind    struct {
		Type string `json:"$type"`
		Name string `json:"name"`
	} `json:"kind"`
}

// messageView is chat.bsky.convo.defs#messageView (and #deletedMessageView, its subset).
type messageView struct {
	Type   string `json:"$type"`
	ID     string `json:"id"`
	Rev    string `json:"rev"`
	Text   string `json:"text"`
	Sender struct {
		DID string `json:"did"`
	} `json:"sender"`
	SentAt  string          `json:"sentAt"`
	Embed   json.RawMessage `json:"embed"`
	ReplyTo *struct {
		ID string `json:"id"`
	} `json:"replyTo"`
}

// logEntry is one element of chat.bsky.convo.getLog's logs union.
type logEntry struct {
	Type            string          `json:"$type"`
	Rev             string          `json:"rev"`
	ConvoID         string          `json:"convoId"`
	Message         json.RawMessage `json:"message"`
	RelatedProfiles []profile       `json:"relatedProfiles"`
}

// convo is what the adapter knows of a conversation: who is in it, and whether it is a group.
// A convo the account can no longer read (getConvo answers InvalidConvo) is unknown.
type convo struct {
	known   bool
	group   bool
	name    string
	members []profile
}

func convoOf(v convoView) convo {
	return convo{known: true, group: v.Kind.Type == typeGroupConvo, name: v.Kind.Name, members: v.Members}
}

func (c convo) member(did string) (profile, bool) {
	for _, m := range c.members {
		if m.DID == did {
			return m, true
		}
	}
	return profile{}, false
}

// other is the other member of a direct convo, if the convo is one and is known.
func (c convo) other(self string) (profile, bool) {
	if !c.known || c.group {
		return profile{}, false
	}
	for _, m := range c.members {
		if m.DID != self {
			return m, true
		}
	}
	return profile{}, false
}

// groupParticipant is the convo itself: the other side of what the account writes in a
// group (or in a convo it can no longer read).
func (c convo) groupParticipant(convoID string) domain.Participant {
	return domain.Participant{PlatformID: convoID, DisplayName: c.name}
}

// converter turns one account's chat payloads into platform items.
type converter struct {
	self   string // the account's DID
	convos map[string]convo
}

func (cv converter) convo(id string) convo { return cv.convos[id] }

// logItems converts a getLog page. A kind the adapter does not model is PlatformOther, named
// after its lexicon type (logReadMessage, logAddReaction, logBeginConvo…).
func (cv converter) logItems(logs []json.RawMessage) ([]domain.PlatformItem, error) {
	items := make([]domain.PlatformItem, 0, len(logs))
	for _, raw := range logs {
		var e logEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("bluesky: a getLog entry is not an object: %w", err)
		}
		var mv messageView
		if len(e.Message) > 0 {
			_ = json.Unmarshal(e.Message, &mv) // system messages and others keep their raw form
		}
		switch {
		case e.Type == typeLogCreateMessage && mv.Type == typeMessageView:
			items = append(items, cv.message(e.ConvoID, mv, e.RelatedProfiles, raw))
		case (e.Type == typeLogDeleteMessage || e.Type == typeLogCreateMessage && mv.Type == typeDeletedMessageView) && mv.ID != "":
			items = append(items, domain.PlatformDelete{PlatformMessageID: mv.ID, ConversationID: e.ConvoID,
				ProspectPlatformID: cv.prospectOf(e.ConvoID, mv.Sender.DID, nil).PlatformID, Raw: raw})
		default:
			items = append(items, domain.PlatformOther{Kind: kindName(e.Type), Raw: raw, At: parseTime(mv.SentAt)})
		}
	}
	return items, nil
}

// messageItems converts a getMessages page (newest first) into its messages, oldest first;
// deleted and system views of the backfill have nothing to show that the log will not bring.
func (cv converter) messageItems(convoID string, messages []json.RawMessage, related []profile) []domain.PlatformItem {
	var items []domain.PlatformItem
	for i := len(messages) - 1; i >= 0; i-- {
		raw := messages[i]
		var mv messageView
		if json.Unmarshal(raw, &mv) != nil || mv.Type != typeMessageView || mv.ID == "" {
			continue
		}
		items = append(items, cv.message(convoID, mv, related, raw))
	}
	return items
}

// message: one thread per convo. In a direct convo the prospect is the other member; in a
// group (or a convo the account can no longer read), as on the other platforms, each message's
// prospect is who wrote it, and the group itself is the other side of what the account writes.
func (cv converter) message(convoID string, mv messageView, related []profile, raw []byte) domain.PlatformItem {
	m := domain.PlatformMessage{PlatformMessageID: mv.ID, ConversationID: convoID, Direction: domain.Inbound,
		Prospect: cv.author(convoID, mv.Sender.DID, related), Text: mv.Text, SentAt: parseTime(mv.SentAt),
		Attachments: attachments(mv.Embed), Raw: raw}
	if mv.ReplyTo != nil {
		m.ReplyToPlatformMessageID = mv.ReplyTo.ID
	}
	if mv.Sender.DID == cv.self {
		m.Direction, m.Sender = domain.Outbound, m.Prospect
		m.Prospect = cv.prospectOf(convoID, mv.Sender.DID, related)
	}
	if m.PlatformMessageID == "" || m.Prospect.PlatformID == "" {
		// No id or nobody to attribute it to: recorded raw, as ReceivePlatform would.
		return domain.PlatformOther{Kind: "invalid_message", Raw: raw, At: m.SentAt}
	}
	return m
}

// prospectOf is the prospect of a message by sender in a convo.
func (cv converter) prospectOf(convoID, sender string, related []profile) domain.Participant {
	c := cv.convo(convoID)
	if o, ok := c.other(cv.self); ok {
		return o.participant()
	}
	if sender == cv.self {
		return c.groupParticipant(convoID)
	}
	return cv.author(convoID, sender, related)
}

// author is who wrote, as fully as the payload and the convo's members tell.
func (cv converter) author(convoID, did string, related []profile) domain.Participant {
	for _, p := range related {
		if p.DID == did {
			return p.participant()
		}
	}
	if p, ok := cv.convo(convoID).member(did); ok {
		return p.participant()
	}
	return domain.Participant{PlatformID: did}
}

// attachments turns a message's embed (a quoted post, a join link) into an attachment.
func attachments(embed json.RawMessage) []domain.Attachment {
	if len(embed) == 0 {
		return nil
	}
	var e struct {
		Type   string `json:"$type"`
		Record struct {
			URI string `json:"uri"`
		} `json:"record"`
	}
	if json.Unmarshal(embed, &e) != nil || e.Type == "" {
		return nil
	}
	if e.Type == typeEmbedRecordView {
		a := domain.Attachment{Type: "post", PlatformID: e.Record.URI, URL: postURL(e.Record.URI)}
		return []domain.Attachment{a}
	}
	// Another embed (chat.bsky.embed.joinLink#view…): its lexicon's name.
	nsid, _, _ := strings.Cut(e.Type, "#")
	return []domain.Attachment{{Type: nsid[strings.LastIndexByte(nsid, '.')+1:]}}
}

// postURL is bsky.app's page of an at:// post URI, or "".
func postURL(uri string) string {
	rest, ok := strings.CutPrefix(uri, "at://")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] != "app.bsky.feed.post" {
		return ""
	}
	return "https://bsky.app/profile/" + parts[0] + "/post/" + parts[2]
}

// kindName is a lexicon type's short name: "chat.bsky.convo.defs#logReadMessage" →
// "logReadMessage".
func kindName(t string) string {
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	if t == "" {
		return "unknown"
	}
	return t
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
