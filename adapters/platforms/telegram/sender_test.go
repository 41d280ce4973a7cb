package telegram

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
)

// An image goes by URL through sendPhoto with the text as its caption; a file through
// sendDocument; the token never reaches an error.
func TestSenderAttachmentsAndErrors(t *testing.T) {
	var path string
	var body map[string]any
	status, answer := 200, `{"ok":true,"result":{"message_id":7,"date":1764849600,"chat":{"id":42,"type":"private"}}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		path, body = r.URL.Path, nil
		_ = json.Unmarshal(b, &body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	s := NewSender(platforms.BaseURLs{"telegram": srv.URL}, nil)
	creds := map[string]string{CredBotToken: "42:SECRET"}
	img := domain.Attachment{Type: "image", URL: "https://cdn.example/a.png"}
	sent, err := s.Send(context.Background(), platforms.Link{}, creds, platforms.Outbound{Conversation: "42", Text: "look", Attachments: []domain.Attachment{img}})
	if err != nil || sent.PlatformMessageID != "42:7" || path != "/bot42:SECRET/sendPhoto" || body["photo"] != img.URL || body["caption"] != "look" {
		t.Fatalf("photo: %+v %v %s %v", sent, err, path, body)
	}
	file := domain.Attachment{Type: "file", URL: "https://cdn.example/b.pdf"}
	if _, err := s.Send(context.Background(), platforms.Link{}, creds, platforms.Outbound{Conversation: "42", Attachments: []domain.Attachment{file}}); err != nil ||
		path != "/bot42:SECRET/sendDocument" || body["document"] != file.URL {
		t.Fatalf("document: %v %s %v", err, path, body)
	}
	status, answer = 400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`
	_, err = s.Send(context.Background(), platforms.Link{}, creds, platforms.Outbound{Conversation: "43", Text: "hi"})
	if se := platforms.AsSendError(err); se.Reason != platforms.ReasonRecipient || se.Temporary || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("chat not found: %v", err)
	}
	srv.Close() // unreachable: a temporary failure that names no URL (the token is in it)
	_, err = s.Send(context.Background(), platforms.Link{}, creds, platforms.Outbound{Conversation: "42", Text: "hi"})
	if se := platforms.AsSendError(err); !se.Temporary || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("unreachable: %v", err)
	}
}
