package telegram

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

type sender struct {
	base   string
	client *http.Client
}

// NewSender returns Telegram's sender: Bot API sendMessage (sendPhoto, sendDocument for an
// attachment by URL), quoting with reply_parameters.
func NewSender(baseURLs platforms.BaseURLs, client *http.Client) platforms.Sender {
	if client == nil {
		client = &http.Client{}
	}
	return &sender{base: strings.TrimRight(baseURLs.Get(domain.PlatformTelegram.String(), DefaultBaseURL), "/"), client: client}
}

func (*sender) Platform() domain.Platform { return domain.PlatformTelegram }

// Limit: the Bot FAQ's "about 30 messages per second" overall for a bot.
func (*sender) Limit() (rate.Limit, int) { return 30, 30 }

type botAnswer struct {
	OK          bool   `json:"ok"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
	Result struct {
		MessageID int64 `json:"message_id"`
		Date      int64 `json:"date"`
		Chat      struct {
			ID int64 `json:"id"`
		} `json:"chat"`
	} `json:"result"`
}

// Send calls the Bot API once. The token is in the URL path (the Bot API's only way): no error
// keeps the URL, and the token is scrubbed from what the API says.
func (s *sender) Send(ctx context.Context, _ platforms.Link, creds map[string]string, m platforms.Outbound) (platforms.Sent, error) {
	token := creds[CredBotToken]
	if token == "" {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonAuth, LinkFault: true, Detail: "no bot_token in the link's credentials"}
	}
	chat := m.Conversation
	if chat == "" {
		chat = m.Recipient
	}
	method, body := "sendMessage", map[string]any{"chat_id": chat}
	if len(m.Attachments) > 0 {
		a := m.Attachments[0]
		field := "document"
		method = "sendDocument"
		if a.Type == "image" {
			field, method = "photo", "sendPhoto"
		}
		body[field] = a.URL
		if m.Text != "" {
			body["caption"] = m.Text
		}
	} else {
		body["text"] = m.Text
	}
	if m.ReplyTo != "" {
		// Our platform ids are "<chat id>:<message id>".
		if id, err := strconv.ParseInt(m.ReplyTo[strings.LastIndexByte(m.ReplyTo, ':')+1:], 10, 64); err == nil {
			body["reply_parameters"] = map[string]any{"message_id": id, "allow_sending_without_reply": true}
		}
	}
	res, err := platforms.PostJSON(ctx, s.client, s.base+"/bot"+token+"/"+method, nil, body, token)
	if err != nil {
		return platforms.Sent{}, err
	}
	var a botAnswer
	if json.Unmarshal(res.Body, &a) != nil {
		if res.Status/100 != 2 {
			return platforms.Sent{}, platforms.HTTPStatusError(res)
		}
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonPlatform, Temporary: true, Detail: "unreadable answer"}
	}
	if !a.OK || res.Status/100 != 2 {
		return platforms.Sent{}, classify(res, a, token)
	}
	if a.Result.MessageID == 0 {
		return platforms.Sent{}, &platforms.SendError{Reason: platforms.ReasonPlatform, Detail: "the answer names no message"}
	}
	chatID := chat
	if a.Result.Chat.ID != 0 {
		chatID = strconv.FormatInt(a.Result.Chat.ID, 10)
	}
	sent := platforms.Sent{PlatformMessageID: chatID + ":" + strconv.FormatInt(a.Result.MessageID, 10)}
	if a.Result.Date > 0 {
		sent.At = time.Unix(a.Result.Date, 0).UTC()
	}
	return sent, nil
}

// classify maps a Bot API error: 429 waits retry_after; 5xx is temporary; 401 (token revoked)
// is the link's fault; 403 "bot was blocked by the user"; 400 "chat not found".
func classify(res platforms.HTTPResult, a botAnswer, token string) *platforms.SendError {
	code := a.ErrorCode
	if code == 0 {
		code = res.Status
	}
	e := &platforms.SendError{Code: strconv.Itoa(code), Detail: platforms.Scrub(a.Description, token)}
	desc := strings.ToLower(a.Description)
	switch {
	case code == http.StatusTooManyRequests:
		e.Reason, e.Temporary = platforms.ReasonRateLimited, true
		e.RetryAfter = time.Duration(a.Parameters.RetryAfter) * time.Second
		if e.RetryAfter == 0 {
			e.RetryAfter = platforms.RetryAfterHeader(res.Header, time.Now())
		}
	case code >= 500:
		e.Reason, e.Temporary = platforms.ReasonPlatform, true
	case code == http.StatusUnauthorized:
		e.Reason, e.LinkFault = platforms.ReasonAuth, true
	case code == http.StatusForbidden && strings.Contains(desc, "blocked"):
		e.Reason = platforms.ReasonBlocked
	case code == http.StatusForbidden, strings.Contains(desc, "chat not found"), strings.Contains(desc, "user not found"):
		e.Reason = platforms.ReasonRecipient
	default:
		e.Reason = platforms.ReasonInvalid
	}
	return e
}
