package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// Bot API objects, reduced to what Switchboard reads. Everything else stays in Raw.
type (
	user struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Username  string `json:"username"`
	}
	chat struct {
		ID        int64  `json:"id"`
		Type      string `json:"type"` // private, group, supergroup, channel
		Title     string `json:"title"`
		Username  string `json:"username"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	file struct {
		FileID   string `json:"file_id"`
		FileName string `json:"file_name"`
		MimeType string `json:"mime_type"`
		Width    int64  `json:"width"`
		Height   int64  `json:"height"`
	}
	story struct {
		ID   int64 `json:"id"`
		Chat chat  `json:"chat"`
	}
	message struct {
		MessageID      int64  `json:"message_id"`
		From           *user  `json:"from"`
		SenderChat     *chat  `json:"sender_chat"`
		Chat           chat   `json:"chat"`
		Date           int64  `json:"date"`
		EditDate       int64  `json:"edit_date"`
		Text           string `json:"text"`
		Caption        string `json:"caption"`
		ReplyToMessage *struct {
			MessageID int64 `json:"message_id"`
		} `json:"reply_to_message"`
		Photo     []file `json:"photo"`
		Document  *file  `json:"document"`
		Animation *file  `json:"animation"`
		Video     *file  `json:"video"`
		VideoNote *file  `json:"video_note"`
		Voice     *file  `json:"voice"`
		Audio     *file  `json:"audio"`
		Sticker   *file  `json:"sticker"`
		Story     *story `json:"story"`
	}
)

// contentKinds name, for the unhandled counter, the message contents Switchboard does not
// model (service messages, locations, polls…): such a message is recorded raw, not dropped.
var contentKinds = []string{"location", "venue", "contact", "poll", "dice", "game", "invoice",
	"successful_payment", "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
	"delete_chat_photo", "group_chat_created", "supergroup_chat_created", "channel_chat_created",
	"migrate_to_chat_id", "migrate_from_chat_id", "pinned_message", "forum_topic_created",
	"forum_topic_edited", "forum_topic_closed", "forum_topic_reopened", "video_chat_started",
	"video_chat_ended", "video_chat_participants_invited", "giveaway", "paid_media", "checklist",
	"web_app_data", "users_shared", "chat_shared", "write_access_allowed"}

// updateItems turns one Update (a webhook body, or one element of getUpdates' result) into
// items, and returns its update_id. Raw is the compacted Update, so the webhook and polling
// paths record the same bytes.
func updateItems(body []byte, link platforms.Link) ([]domain.PlatformItem, int64, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, 0, fmt.Errorf("telegram: an Update must be a JSON object: %w", err)
	}
	var id int64
	if err := json.Unmarshal(fields["update_id"], &id); err != nil || id == 0 {
		return nil, 0, errors.New("telegram: an Update needs a numeric update_id")
	}
	raw := compact(body)
	// An Update has exactly one optional field besides update_id: its kind.
	kinds := make([]string, 0, 1)
	for k := range fields {
		if k != "update_id" && k != "" {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	if len(kinds) == 0 {
		return []domain.PlatformItem{domain.PlatformOther{Kind: "empty_update", Raw: raw}}, id, nil
	}
	kind := kinds[0]
	if slices.Contains(kinds, "message") {
		kind = "message"
	} else if slices.Contains(kinds, "edited_message") {
		kind = "edited_message"
	}
	inner := fields[kind]
	switch kind {
	case "message", "edited_message":
		var m message
		if err := json.Unmarshal(inner, &m); err != nil || m.MessageID == 0 || m.Chat.ID == 0 {
			return nil, id, fmt.Errorf("telegram: update %d: %s is not a Message", id, kind)
		}
		return []domain.PlatformItem{messageItem(kind, &m, inner, raw, link)}, id, nil
	}
	// channel_post, callback_query, my_chat_member, message_reaction, …: kept raw and counted.
	var when struct {
		Date int64 `json:"date"`
	}
	_ = json.Unmarshal(inner, &when)
	return []domain.PlatformItem{domain.PlatformOther{Kind: kind, Raw: raw, At: unix(when.Date)}}, id, nil
}

// messageItem maps a message (kind "message") or its edit (kind "edited_message").
func messageItem(kind string, m *message, inner, raw []byte, link platforms.Link) domain.PlatformItem {
	chatID := strconv.FormatInt(m.Chat.ID, 10)
	pmid := chatID + ":" + strconv.FormatInt(m.MessageID, 10)
	outbound := m.From != nil && link.PlatformID != "" && strconv.FormatInt(m.From.ID, 10) == link.PlatformID
	var prospect, sender domain.Participant
	switch {
	case m.Chat.Type == "private" && !outbound && m.From != nil:
		prospect = m.From.participant() // the same id as the chat's, with the sender's full profile
	case m.Chat.Type == "private", outbound:
		// Our bot wrote it: the other side is the chat itself (the user, or the group).
		prospect = m.Chat.participant()
	default:
		// Group chats: one thread per chat, each message's prospect is who wrote it.
		prospect = m.author()
	}
	if outbound {
		sender = m.From.participant()
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	atts := m.attachments()
	if text == "" && len(atts) == 0 {
		return domain.PlatformOther{Kind: kind + "." + m.content(inner), Raw: raw, At: unix(m.Date)}
	}
	if kind == "edited_message" {
		edited := m.EditDate
		if edited == 0 {
			edited = m.Date
		}
		return domain.PlatformEdit{PlatformMessageID: pmid, ConversationID: chatID, ProspectPlatformID: prospect.PlatformID,
			Text: text, EditedAt: unix(edited), Raw: raw}
	}
	dir := domain.Inbound
	if outbound {
		dir = domain.Outbound
	}
	out := domain.PlatformMessage{PlatformMessageID: pmid, ConversationID: chatID, Direction: dir, Prospect: prospect,
		Sender: sender, Text: text, Attachments: atts, SentAt: unix(m.Date), Raw: raw}
	if m.ReplyToMessage != nil && m.ReplyToMessage.MessageID != 0 {
		// A reply_to_message is always in the same chat (replies elsewhere are external_reply).
		out.ReplyToPlatformMessageID = chatID + ":" + strconv.FormatInt(m.ReplyToMessage.MessageID, 10)
	}
	return out
}

// author is who wrote a group message: the channel or anonymous admin (sender_chat) when set,
// else the user.
func (m *message) author() domain.Participant {
	switch {
	case m.SenderChat != nil && m.SenderChat.ID != 0:
		return m.SenderChat.participant()
	case m.From != nil:
		return m.From.participant()
	}
	return m.Chat.participant()
}

// attachments lists the media. Telegram files are fetched with getFile and the bot token, so
// no URL is recorded (a token never enters an event): the file_id is the handle.
func (m *message) attachments() []domain.Attachment {
	var out []domain.Attachment
	if len(m.Photo) > 0 {
		// photo lists one PhotoSize per resolution: keep the largest.
		best := m.Photo[0]
		for _, p := range m.Photo[1:] {
			if p.Width*p.Height >= best.Width*best.Height {
				best = p
			}
		}
		out = append(out, domain.Attachment{Type: "image", PlatformID: best.FileID})
	}
	add := func(typ string, f *file) {
		if f != nil && f.FileID != "" {
			out = append(out, domain.Attachment{Type: typ, PlatformID: f.FileID, MimeType: f.MimeType, Name: f.FileName})
		}
	}
	add("video", m.Animation)
	if m.Animation == nil {
		// An animation also sets document, for older clients: one attachment, not two.
		add("file", m.Document)
	}
	add("video", m.Video)
	add("video", m.VideoNote)
	add("audio", m.Voice)
	add("audio", m.Audio)
	add("sticker", m.Sticker)
	if m.Story != nil {
		out = append(out, domain.Attachment{Type: "story",
			PlatformID: strconv.FormatInt(m.Story.Chat.ID, 10) + ":" + strconv.FormatInt(m.Story.ID, 10)})
	}
	return out
}

// content names what a message without text or media holds.
func (m *message) content(inner []byte) string {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(inner, &fields)
	for _, k := range contentKinds {
		if _, ok := fields[k]; ok {
			return k
		}
	}
	return "other"
}

func (u *user) participant() domain.Participant {
	return domain.Participant{PlatformID: strconv.FormatInt(u.ID, 10), Username: u.Username,
		DisplayName: strings.TrimSpace(u.FirstName + " " + u.LastName)}
}

func (c *chat) participant() domain.Participant {
	name := c.Title
	if name == "" {
		name = strings.TrimSpace(c.FirstName + " " + c.LastName)
	}
	return domain.Participant{PlatformID: strconv.FormatInt(c.ID, 10), Username: c.Username, DisplayName: name}
}

// unix reads Telegram's Unix seconds; 0 (absent) stays the zero time.
func unix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
