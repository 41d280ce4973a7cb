package connectrpc

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

type ingestService struct{ d Deps }

// NewIngestService returns the IngestService handler.
func NewIngestService(d Deps) switchboardv1connect.IngestServiceHandler { return ingestService{d} }

func (s ingestService) IngestMessage(ctx context.Context, req *connect.Request[v1.IngestMessageRequest]) (*connect.Response[v1.IngestMessageResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.IngestMessageRequest) (*v1.IngestMessageResponse, error) {
		c, err := ingestFromProto(m)
		if err != nil {
			return nil, err
		}
		r, err := s.d.App.IngestMessage.Handle(ctx, a, c)
		if err != nil {
			return nil, err
		}
		return &v1.IngestMessageResponse{MessageId: r.MessageID, ThreadId: r.ThreadID, ProspectId: r.ProspectID,
			Duplicate: r.Duplicate, Position: s.d.position(a, r.Position)}, nil
	})
}

func (s ingestService) IngestMessages(ctx context.Context, req *connect.Request[v1.IngestMessagesRequest]) (*connect.Response[v1.IngestMessagesResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.IngestMessagesRequest) (*v1.IngestMessagesResponse, error) {
		if len(m.Messages) > commands.MaxIngestBatch {
			return nil, domain.Invalid("messages", "must have at most %d messages, got %d", commands.MaxIngestBatch, len(m.Messages))
		}
		// Each message is checked on its own (its field limits too, which the limits
		// interceptor leaves to this handler): a bad one fails alone.
		cmds := make([]commands.IngestMessage, 0, len(m.Messages))
		idx := make([]int, 0, len(m.Messages))
		refused := make([]error, len(m.Messages))
		for i, im := range m.Messages {
			err := checkMessageLimits(im.ProtoReflect(), "")
			var c commands.IngestMessage
			if err == nil {
				c, err = ingestFromProto(im)
			}
			if err != nil {
				refused[i] = err
				continue
			}
			cmds = append(cmds, c)
			idx = append(idx, i)
		}
		out := &v1.IngestMessagesResponse{Results: make([]*v1.IngestMessagesResult, len(m.Messages))}
		if len(m.Messages) == 0 || len(cmds) > 0 {
			items, cur, err := s.d.App.IngestMessage.HandleBatch(ctx, a, cmds)
			if err != nil {
				return nil, err
			}
			for k, it := range items {
				i := idx[k]
				if it.Err != nil {
					refused[i] = it.Err
					continue
				}
				out.Results[i] = &v1.IngestMessagesResult{Index: int32(i), MessageId: it.MessageID, ThreadId: it.ThreadID,
					ProspectId: it.ProspectID, Duplicate: it.Duplicate, Position: s.d.position(a, it.Position)}
			}
			out.Position = s.d.Positions.Encode(a.TeamID, cur)
		}
		for i, err := range refused {
			if err != nil {
				out.Results[i] = &v1.IngestMessagesResult{Index: int32(i), Error: s.itemError(ctx, i, err)}
			}
		}
		return out, nil
	})
}

// itemError is the refusal of messages[i], naming the index and the field.
func (s ingestService) itemError(ctx context.Context, i int, err error) *v1.IngestMessagesError {
	code := connect.CodeOf(toConnect(ctx, s.d.Logger, err))
	at := fmt.Sprintf("messages[%d]", i)
	var de *domain.Error
	if errors.As(err, &de) && de.Field != "" {
		f := at + "." + de.Field
		return &v1.IngestMessagesError{Code: code.String(), Field: f, Message: f + ": " + de.Msg}
	}
	msg := "internal error"
	if errors.As(err, &de) {
		msg = de.Msg
	}
	return &v1.IngestMessagesError{Code: code.String(), Message: at + ": " + msg}
}

// ingestFromProto turns one message of the API channel into its command.
func ingestFromProto(m *v1.IngestMessageRequest) (commands.IngestMessage, error) {
	dir, err := directionFromProto("direction", m.Direction)
	if err != nil {
		return commands.IngestMessage{}, err
	}
	c := commands.IngestMessage{AccountLinkID: m.AccountLinkId, PlatformConversationID: m.PlatformConversationId,
		PlatformMessageID: m.PlatformMessageId, Direction: dir, Text: m.Text,
		ReplyToPlatformMessageID: m.ReplyToPlatformMessageId, Automated: m.Automated, RawContentType: "application/json"}
	if p := m.Participant; p != nil {
		c.Participant = domain.Participant{PlatformID: p.PlatformId, Username: p.Username, DisplayName: p.DisplayName, AvatarURL: p.AvatarUrl}
	}
	for _, at := range m.Attachments {
		c.Attachments = append(c.Attachments, domain.Attachment{Type: at.Type, URL: at.Url, MimeType: at.MimeType, PlatformID: at.PlatformId, Name: at.Name})
	}
	if m.SentAt != nil {
		if err := m.SentAt.CheckValid(); err != nil {
			return commands.IngestMessage{}, domain.Invalid("sent_at", "is not a valid time")
		}
		c.SentAt = m.SentAt.AsTime()
	}
	// The request itself is the raw payload of the API channel.
	c.Raw, _ = protojson.Marshal(m)
	return c, nil
}
