package connectrpc

import (
	"context"

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
		dir, err := directionFromProto("direction", m.Direction)
		if err != nil {
			return nil, err
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
				return nil, domain.Invalid("sent_at", "is not a valid time")
			}
			c.SentAt = m.SentAt.AsTime()
		}
		// The request itself is the raw payload of the API channel.
		c.Raw, _ = protojson.Marshal(m)
		r, err := s.d.App.IngestMessage.Handle(ctx, a, c)
		if err != nil {
			return nil, err
		}
		return &v1.IngestMessageResponse{MessageId: r.MessageID, ThreadId: r.ThreadID, ProspectId: r.ProspectID,
			Duplicate: r.Duplicate, Position: s.d.position(a, r.Position)}, nil
	})
}
