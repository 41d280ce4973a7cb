package x

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

// Webhook objects, reduced to what Switchboard reads. Everything else stays in Raw.
type (
	// dmEvent is an AAA (v1.1) direct message event; XAA's dm.* payloads carry the same.
	dmEvent struct {
		Type             string `json:"type"`
		ID               string `json:"id"`
		CreatedTimestamp string `json:"created_timestamp"` // epoch milliseconds, as a string
		ConversationID   string `json:"conversation_id"`
		DMConversationID string `json:"dm_conversation_id"`
		MessageCreate    *struct {
			SenderID string `json:"sender_id"`
			Target   struct {
				RecipientID string `json:"recipient_id"`
			} `json:"target"`
			MessageData struct {
				Text       string `json:"text"`
				Attachment *struct {
					Media *media `json:"media"`
				} `json:"attachment"`
			} `json:"message_data"`
		} `json:"message_create"`
	}
	// markRead says sender_id read the conversation up to last_read_event_id.
	markRead struct {
		CreatedTimestamp string `json:"created_timestamp"`
		SenderID         string `json:"sender_id"`
		Target           struct {
			RecipientID string `json:"recipient_id"`
		} `json:"target"`
	}
	// userObj is a user of AAA's users map (v1.1 fields), of XAA's ({"data": v2 user}) or of
	// v2's includes.users.
	userObj struct {
		Name                 string   `json:"name"`
		ScreenName           string   `json:"screen_name"`
		Username             string   `json:"username"`
		ProfileImageURLHTTPS string   `json:"profile_image_url_https"`
		ProfileImageURL      string   `json:"profile_image_url"`
		Data                 *userObj `json:"data"`
	}
	// media is a v1.1 attachment's media or a v2 includes.media object.
	media struct {
		IDStr           string    `json:"id_str"`
		MediaKey        string    `json:"media_key"`
		Type            string    `json:"type"` // photo, video, animated_gif
		MediaURLHTTPS   string    `json:"media_url_https"`
		URL             string    `json:"url"`
		PreviewImageURL string    `json:"preview_image_url"`
		Variants        []variant `json:"variants"`
		VideoInfo       *struct {
			Variants []variant `json:"variants"`
		} `json:"video_info"`
	}
	variant struct {
		Bitrate     int    `json:"bitrate"`
		BitRate     int    `json:"bit_rate"`
		ContentType string `json:"content_type"`
		URL         string `json:"url"`
	}
)

// activityItems reads an AAA body ({"for_user_id", "<kind>_events": […], "users": {…}}) or an
// XAA delivery ({"data": {"event_type", "filter": {"user_id"}, "payload"}}).
func activityItems(body []byte, link platforms.Link) ([]domain.PlatformItem, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("x: a webhook body must be a JSON object: %w", err)
	}
	if v, ok := top["for_user_id"]; ok {
		var forUser string
		if err := json.Unmarshal(v, &forUser); err != nil || forUser == "" {
			return nil, errors.New("x: for_user_id must be a user id")
		}
		if !ours(forUser, link) {
			return otherAccount(body), nil
		}
		return payloadItems(top, forUser), nil
	}
	data, ok := top["data"]
	if !ok {
		return nil, errors.New("x: neither an Account Activity body (for_user_id) nor an X Activity one (data)")
	}
	var env struct {
		EventType string `json:"event_type"`
		Filter    struct {
			UserID string `json:"user_id"`
		} `json:"filter"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &env); err != nil || env.EventType == "" {
		return nil, errors.New("x: an X Activity delivery needs data.event_type")
	}
	forUser := env.Filter.UserID
	if forUser == "" {
		forUser = link.PlatformID
	}
	if !ours(forUser, link) {
		return otherAccount(body), nil
	}
	var payload map[string]json.RawMessage
	_ = json.Unmarshal(env.Payload, &payload)
	if strings.HasPrefix(env.EventType, "dm.") {
		// dm.received, dm.sent…: the AAA payload, wrapped.
		if items := payloadItems(payload, forUser); hasEvents(items) {
			return items, nil
		}
	}
	// chat.* (XChat: encrypted, readable only with the XChat keys), post.*, …
	var when struct {
		CreatedAtMsec string `json:"created_at_msec"`
	}
	_ = json.Unmarshal(env.Payload, &when)
	return []domain.PlatformItem{domain.PlatformOther{Kind: env.EventType, Raw: compact(body), At: millis(when.CreatedAtMsec)}}, nil
}

// ours: one webhook serves every user the X app subscribed, and each body names its user. A
// body for another user is not this link's to attribute: it is recorded raw.
func ours(forUser string, link platforms.Link) bool {
	return link.PlatformID == "" || forUser == link.PlatformID
}

func otherAccount(body []byte) []domain.PlatformItem {
	return []domain.PlatformItem{domain.PlatformOther{Kind: "other_account", Raw: compact(body)}}
}

func hasEvents(items []domain.PlatformItem) bool {
	return slices.ContainsFunc(items, func(it domain.PlatformItem) bool {
		_, profile := it.(domain.PlatformProfile)
		return !profile
	})
}

// payloadItems maps the event arrays of an AAA payload, then the profiles of its users (after
// the messages, which create the prospects the profiles update).
func payloadItems(fields map[string]json.RawMessage, own string) []domain.PlatformItem {
	var users map[string]userObj
	_ = json.Unmarshal(fields["users"], &users)
	var items []domain.PlatformItem
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		var elems []json.RawMessage
		switch key {
		case "for_user_id", "users", "apps":
			continue
		case "direct_message_events":
			_ = json.Unmarshal(fields[key], &elems)
			for _, raw := range elems {
				items = append(items, dmEventItem(raw, own, users))
			}
		case "direct_message_mark_read_events":
			_ = json.Unmarshal(fields[key], &elems)
			for _, raw := range elems {
				items = append(items, markReadItem(raw, own))
			}
		default:
			// typing indicators, tweets, follows, blocks…: kept raw, one item each.
			if json.Unmarshal(fields[key], &elems) == nil {
				for _, raw := range elems {
					var when struct {
						CreatedTimestamp string `json:"created_timestamp"`
					}
					_ = json.Unmarshal(raw, &when)
					items = append(items, domain.PlatformOther{Kind: first(key, "unknown"), Raw: compact(raw), At: millis(when.CreatedTimestamp)})
				}
			} else if bytes.HasPrefix(bytes.TrimSpace(fields[key]), []byte("{")) {
				items = append(items, domain.PlatformOther{Kind: first(key, "unknown"), Raw: compact(fields[key])})
			} // a scalar (user_has_blocked) only qualifies the events beside it
		}
	}
	ids := make([]string, 0, len(users))
	for id := range users {
		if id != own {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, cmpID)
	for _, id := range ids {
		items = append(items, domain.PlatformProfile{Prospect: users[id].participant(id)})
	}
	return items
}

func dmEventItem(raw json.RawMessage, own string, users map[string]userObj) domain.PlatformItem {
	var e dmEvent
	_ = json.Unmarshal(raw, &e)
	at := millis(e.CreatedTimestamp)
	mc := e.MessageCreate
	if e.Type != "message_create" || mc == nil {
		return domain.PlatformOther{Kind: "direct_message_events." + e.Type, Raw: compact(raw), At: at}
	}
	sender, recipient := mc.SenderID, mc.Target.RecipientID
	if e.ID == "" || sender == "" || recipient == "" {
		return domain.PlatformOther{Kind: "direct_message_events.incomplete", Raw: compact(raw), At: at}
	}
	conv := e.ConversationID
	if conv == "" {
		conv = e.DMConversationID
	}
	if conv == "" {
		conv = pairID(sender, recipient)
	}
	m := domain.PlatformMessage{PlatformMessageID: e.ID, ConversationID: conv, Direction: domain.Inbound,
		Prospect: users[sender].participant(sender), Text: mc.MessageData.Text, SentAt: at, Raw: compact(raw)}
	if sender == own {
		// The AAA echo of what the account sent, from X's apps or from us.
		m.Direction, m.Prospect, m.Sender = domain.Outbound, users[recipient].participant(recipient), users[sender].participant(sender)
	}
	if a := mc.MessageData.Attachment; a != nil && a.Media != nil {
		m.Attachments = []domain.Attachment{a.Media.attachment()}
	}
	return m
}

func markReadItem(raw json.RawMessage, own string) domain.PlatformItem {
	var r markRead
	_ = json.Unmarshal(raw, &r)
	at := millis(r.CreatedTimestamp)
	switch {
	case r.SenderID == "" || r.Target.RecipientID == "":
		return domain.PlatformOther{Kind: "direct_message_mark_read_events.incomplete", Raw: compact(raw), At: at}
	case r.SenderID == own:
		// The account read theirs, in X's own apps: no platform item says that yet.
		return domain.PlatformOther{Kind: "direct_message_mark_read_events.by_account", Raw: compact(raw), At: at}
	}
	return domain.PlatformSeen{ConversationID: pairID(r.SenderID, r.Target.RecipientID), ProspectPlatformID: r.SenderID, Watermark: at}
}

func (u userObj) participant(id string) domain.Participant {
	if u.Data != nil {
		return u.Data.participant(id)
	}
	return domain.Participant{PlatformID: id, Username: first(u.ScreenName, u.Username), DisplayName: u.Name,
		AvatarURL: first(u.ProfileImageURLHTTPS, u.ProfileImageURL)}
}

// attachment maps a photo to an image and a video or GIF to its best MP4. Its platform id is
// the media id (v2 gives it as the media_key's suffix, "3_<id>"), the same on every path.
func (m media) attachment() domain.Attachment {
	id := m.IDStr
	if id == "" {
		_, id, _ = strings.Cut(m.MediaKey, "_")
	}
	still := first(m.MediaURLHTTPS, m.URL, m.PreviewImageURL)
	switch m.Type {
	case "photo":
		return domain.Attachment{Type: "image", URL: still, PlatformID: id}
	case "video", "animated_gif":
		variants := m.Variants
		if m.VideoInfo != nil {
			variants = m.VideoInfo.Variants
		}
		a := domain.Attachment{Type: "video", URL: still, PlatformID: id}
		best := -1
		for _, v := range variants {
			if rate := max(v.Bitrate, v.BitRate); v.ContentType == "video/mp4" && rate > best {
				best, a.URL, a.MimeType = rate, v.URL, v.ContentType
			}
		}
		return a
	}
	return domain.Attachment{Type: "file", URL: still, PlatformID: id}
}

// pairID is a one-to-one conversation's id: the two user ids, smaller first, as numbers.
func pairID(a, b string) string {
	if cmpID(a, b) > 0 {
		a, b = b, a
	}
	return a + "-" + b
}

// cmpID orders decimal ids (snowflakes) as numbers; "" sorts first.
func cmpID(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// millis reads X's epoch milliseconds (a string); a missing or bad one is the zero time.
func millis(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
