package connectrpc

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// Rebuild is the progress of one projection rebuild.
type Rebuild struct {
	ID, Projection, Phase, Target, Error string
	Applied, Total                       int64
	StartedAt, FinishedAt                time.Time
}

// Rebuilder runs blue/green rebuilds of the process's projections (the server).
type Rebuilder interface {
	// Start begins rebuilding projection ("readmodel" or "search") and returns at once.
	Start(ctx context.Context, projection string) (Rebuild, error)
	// Get returns a rebuild by id (domain not-found error when unknown).
	Get(id string) (Rebuild, error)
	// List returns every rebuild of this process, newest first.
	List() []Rebuild
}

type adminService struct{ d Deps }

// NewAdminService returns the AdminService handler.
func NewAdminService(d Deps) switchboardv1connect.AdminServiceHandler { return adminService{d} }

// owner refuses every caller but a team owner: a rebuild works on the whole deployment.
func (s adminService) owner(a commands.Actor) error {
	if a.Role != string(domain.RoleOwner) {
		return domain.PermissionDenied("only an owner administers the deployment")
	}
	if s.d.Rebuilds == nil {
		return connect.NewError(connect.CodeUnimplemented, errors.New("this process does not run projectors: call a process with the projector role"))
	}
	return nil
}

func (s adminService) RebuildProjection(ctx context.Context, req *connect.Request[v1.RebuildProjectionRequest]) (*connect.Response[v1.RebuildProjectionResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.RebuildProjectionRequest) (*v1.RebuildProjectionResponse, error) {
		if err := s.owner(a); err != nil {
			return nil, err
		}
		if m.Projection != "readmodel" && m.Projection != "search" {
			return nil, domain.Invalid("projection", "must be readmodel or search, got %q", m.Projection)
		}
		r, err := s.d.Rebuilds.Start(ctx, m.Projection)
		if err != nil {
			return nil, err
		}
		return &v1.RebuildProjectionResponse{Rebuild: rebuildToProto(r)}, nil
	})
}

func (s adminService) GetRebuild(ctx context.Context, req *connect.Request[v1.GetRebuildRequest]) (*connect.Response[v1.GetRebuildResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.GetRebuildRequest) (*v1.GetRebuildResponse, error) {
		if err := s.owner(a); err != nil {
			return nil, err
		}
		if m.RebuildId == "" {
			return nil, domain.Invalid("rebuild_id", "is required")
		}
		r, err := s.d.Rebuilds.Get(m.RebuildId)
		if err != nil {
			return nil, err
		}
		return &v1.GetRebuildResponse{Rebuild: rebuildToProto(r)}, nil
	})
}

func (s adminService) ListRebuilds(ctx context.Context, req *connect.Request[v1.ListRebuildsRequest]) (*connect.Response[v1.ListRebuildsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ListRebuildsRequest) (*v1.ListRebuildsResponse, error) {
		if err := s.owner(a); err != nil {
			return nil, err
		}
		out := &v1.ListRebuildsResponse{}
		for _, r := range s.d.Rebuilds.List() {
			out.Rebuilds = append(out.Rebuilds, rebuildToProto(r))
		}
		return out, nil
	})
}

func rebuildToProto(r Rebuild) *v1.Rebuild {
	out := &v1.Rebuild{Id: r.ID, Projection: r.Projection, Phase: r.Phase, Applied: r.Applied, Total: r.Total,
		Target: r.Target, Error: r.Error, StartedAt: timestamppb.New(r.StartedAt)}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = timestamppb.New(r.FinishedAt)
	}
	return out
}
