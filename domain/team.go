package domain

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Team is the aggregate of a team's configuration: its members and their keys, tags, statuses
// and account links. Its stream is keyed by the team id. It decides the rules that need the
// whole configuration (unique tag and status names, unique member emails, who may add whom,
// which links may receive) and is rebuilt from its events by Apply.
type Team struct {
	id       string
	version  int64
	created  bool
	members  map[string]TeamMember
	keys     map[string]TeamKey
	tags     map[string]string // tag id → name
	statuses map[string]string // status id → name
	links    map[string]AccountLink
	events   map[string]struct{} // ids of the stream's events, so a retried command is recognized
}

// TeamMember is a member as the Team aggregate knows them.
type TeamMember struct {
	ID, Email string
	Role      Role
}

// TeamKey is an active API key, as the Team aggregate knows it.
type TeamKey struct {
	ID, MemberID, Hash string
	InstanceAdmin      bool
}

// Reasons a key is revoked.
const (
	RevokedByMember   = "revoked"
	RevokedWithMember = "member_removed"
	RevokedByRotation = "bootstrap_rotated"
)

// roleRank orders roles: a member acts on members of their own rank or below.
func roleRank(r Role) int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleAgent:
		return 1
	}
	return 0
}

// AccountLink is one linked platform account, as the Team aggregate knows it.
type AccountLink struct {
	ID           string
	Platform     Platform
	PlatformID   string
	Unlinked     bool
	Healthy      bool
	HealthReason string
}

// NewTeam returns the aggregate of team id before its first event.
func NewTeam(id string) *Team {
	return &Team{id: id, members: map[string]TeamMember{}, keys: map[string]TeamKey{},
		tags: map[string]string{}, statuses: map[string]string{}, links: map[string]AccountLink{}, events: map[string]struct{}{}}
}

// ID is the team's id, the key of its stream.
func (t *Team) ID() string { return t.id }

// Version is the number of the stream's events applied.
func (t *Team) Version() int64 { return t.version }

// Clone returns a copy that can decide and apply without touching t.
func (t *Team) Clone() *Team {
	c := *t
	c.members, c.keys, c.tags = maps.Clone(t.members), maps.Clone(t.keys), maps.Clone(t.tags)
	c.statuses, c.links, c.events = maps.Clone(t.statuses), maps.Clone(t.links), maps.Clone(t.events)
	return &c
}

// Apply applies the stream's next event.
func (t *Team) Apply(e Event) {
	t.version++
	if _, unhandled := e.Payload.(PlatformUnhandled); !unhandled {
		t.events[e.ID] = struct{}{}
	}
	switch p := e.Payload.(type) {
	case TeamCreated:
		t.created = true
	case MemberAdded:
		t.members[p.MemberID] = TeamMember{ID: p.MemberID, Email: p.Email, Role: Role(p.Role)}
	case APIKeyCreated:
		t.keys[p.KeyID] = TeamKey{ID: p.KeyID, MemberID: p.MemberID, Hash: p.KeyHash, InstanceAdmin: p.InstanceAdmin}
	case APIKeyRevoked:
		delete(t.keys, p.KeyID)
	case MemberRemoved:
		delete(t.members, p.MemberID)
	case TagCreated:
		t.tags[p.TagID] = p.Name
	case TagDeleted:
		delete(t.tags, p.TagID)
	case StatusCreated:
		t.statuses[p.StatusID] = p.Name
	case AccountLinked:
		t.links[p.AccountLinkID] = AccountLink{ID: p.AccountLinkID, Platform: p.Platform, PlatformID: p.PlatformID, Healthy: true}
	case AccountUnlinked:
		if l, ok := t.links[p.AccountLinkID]; ok {
			l.Unlinked, l.HealthReason = true, "unlinked"
			t.links[p.AccountLinkID] = l
		}
	case AccountHealthChanged:
		if l, ok := t.links[p.AccountLinkID]; ok {
			l.Healthy = p.Healthy
			if !l.Unlinked {
				l.HealthReason = p.Reason
			}
			t.links[p.AccountLinkID] = l
		}
	}
}

// Has reports whether an event is in the stream.
func (t *Team) Has(eventID string) bool {
	_, ok := t.events[eventID]
	return ok
}

// Exists reports whether the team was created.
func (t *Team) Exists() bool { return t.created }

// Create starts the team with its owner and the owner's key. A team is created once.
func (t *Team) Create(name string, owner TeamMember, ownerName, keyID, keyHash, prefix string, instanceAdmin bool) ([]Payload, error) {
	if t.created {
		return nil, AlreadyExists("team %s already exists", t.id)
	}
	return []Payload{
		TeamCreated{TeamID: t.id, Name: name},
		MemberAdded{MemberID: owner.ID, Email: owner.Email, Name: ownerName, Role: string(RoleOwner)},
		APIKeyCreated{KeyID: keyID, MemberID: owner.ID, KeyHash: keyHash, InstanceAdmin: instanceAdmin, Prefix: prefix},
	}, nil
}

// Member returns a member of the team.
func (t *Team) Member(id string) (TeamMember, error) {
	m, ok := t.members[id]
	if !ok {
		return TeamMember{}, NotFound("member", id)
	}
	return m, nil
}

// RequireTag fails unless the tag exists in the team.
func (t *Team) RequireTag(id string) error {
	if _, ok := t.tags[id]; !ok {
		return NotFound("tag", id)
	}
	return nil
}

// RequireStatus fails unless the status exists in the team.
func (t *Team) RequireStatus(id string) error {
	if _, ok := t.statuses[id]; !ok {
		return NotFound("status", id)
	}
	return nil
}

// CreateTag creates a tag whose name is unique in the team, ignoring case.
func (t *Team) CreateTag(id, name, color string) (TagCreated, error) {
	if taken, ok := sameName(t.tags, name); ok {
		return TagCreated{}, AlreadyExists("a tag named %q already exists", taken)
	}
	return TagCreated{TagID: id, Name: name, Color: color}, nil
}

// DeleteTag deletes one of the team's tags.
func (t *Team) DeleteTag(id string) (TagDeleted, error) {
	if err := t.RequireTag(id); err != nil {
		return TagDeleted{}, err
	}
	return TagDeleted{TagID: id}, nil
}

// CreateStatus creates a status whose name is unique in the team, ignoring case.
func (t *Team) CreateStatus(id, name string, position int32) (StatusCreated, error) {
	if taken, ok := sameName(t.statuses, name); ok {
		return StatusCreated{}, AlreadyExists("a status named %q already exists", taken)
	}
	return StatusCreated{StatusID: id, Name: name, Position: position}, nil
}

func sameName(names map[string]string, name string) (string, bool) {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// AddMember adds a member with an email unique in the team. Only owners and admins add
// members, and only owners add owners.
func (t *Team) AddMember(actorRole Role, id, email, name string, role Role) (MemberAdded, error) {
	if actorRole != RoleOwner && actorRole != RoleAdmin {
		return MemberAdded{}, PermissionDenied("only owners and admins add members")
	}
	if role == RoleOwner && actorRole != RoleOwner {
		return MemberAdded{}, PermissionDenied("only owners add owners")
	}
	for _, m := range t.members {
		if m.Email == email {
			return MemberAdded{}, AlreadyExists("a member with email %q already exists", email)
		}
	}
	return MemberAdded{MemberID: id, Email: email, Name: name, Role: string(role)}, nil
}

// CreateAPIKey records a key acting as memberID. Members create keys for themselves; owners
// and admins for other members.
func (t *Team) CreateAPIKey(actorID string, actorRole Role, keyID, memberID, keyHash, prefix string) (APIKeyCreated, error) {
	m, err := t.Member(memberID)
	if err != nil {
		return APIKeyCreated{}, err
	}
	if memberID != actorID && actorRole != RoleOwner && actorRole != RoleAdmin {
		return APIKeyCreated{}, PermissionDenied("only owners and admins create keys for other members")
	}
	if roleRank(m.Role) > roleRank(actorRole) {
		return APIKeyCreated{}, PermissionDenied("nobody creates a key for a member above their own role")
	}
	return APIKeyCreated{KeyID: keyID, MemberID: memberID, KeyHash: keyHash, Prefix: prefix}, nil
}

// Keys returns the team's active keys.
func (t *Team) Keys() []TeamKey {
	out := make([]TeamKey, 0, len(t.keys))
	for _, k := range t.keys {
		out = append(out, k)
	}
	return out
}

// RevokeAPIKey revokes an active key. Members revoke their own keys; owners and admins the keys
// of members not above their own role.
func (t *Team) RevokeAPIKey(actorID string, actorRole Role, keyID, reason string) (APIKeyRevoked, error) {
	k, ok := t.keys[keyID]
	if !ok {
		return APIKeyRevoked{}, NotFound("API key", keyID)
	}
	if k.MemberID != actorID {
		if actorRole != RoleOwner && actorRole != RoleAdmin {
			return APIKeyRevoked{}, PermissionDenied("only owners and admins revoke other members' keys")
		}
		if m, ok := t.members[k.MemberID]; ok && roleRank(m.Role) > roleRank(actorRole) {
			return APIKeyRevoked{}, PermissionDenied("nobody revokes the key of a member above their own role")
		}
	}
	return APIKeyRevoked{KeyID: keyID, MemberID: k.MemberID, Reason: reason}, nil
}

// RemoveMember removes a member and revokes their keys. Owners and admins remove members; only
// owners remove owners; the last owner stays.
func (t *Team) RemoveMember(actorRole Role, memberID string) ([]Payload, error) {
	m, err := t.Member(memberID)
	if err != nil {
		return nil, err
	}
	if actorRole != RoleOwner && actorRole != RoleAdmin {
		return nil, PermissionDenied("only owners and admins remove members")
	}
	if m.Role == RoleOwner {
		if actorRole != RoleOwner {
			return nil, PermissionDenied("only owners remove owners")
		}
		owners := 0
		for _, o := range t.members {
			if o.Role == RoleOwner {
				owners++
			}
		}
		if owners == 1 {
			return nil, Precondition("member %s is the team's last owner", memberID)
		}
	}
	out := []Payload{MemberRemoved{MemberID: memberID}}
	for _, k := range t.sortedKeys() {
		if k.MemberID == memberID {
			out = append(out, APIKeyRevoked{KeyID: k.ID, MemberID: memberID, Reason: RevokedWithMember})
		}
	}
	return out, nil
}

func (t *Team) sortedKeys() []TeamKey {
	keys := t.Keys()
	slices.SortFunc(keys, func(a, b TeamKey) int { return strings.Compare(a.ID, b.ID) })
	return keys
}

// RotateInstanceAdmin replaces the instance admin key by the key whose stored forms are hashes
// (the operator changed the bootstrap key; hashes[0] is the form to store): the new key acts as
// the old one's member, every old one is revoked. A team whose instance admin key already is
// that key decides nothing.
func (t *Team) RotateInstanceAdmin(keyID string, hashes []string, prefix string) ([]Payload, error) {
	var old []TeamKey
	owner := ""
	for _, k := range t.sortedKeys() {
		if !k.InstanceAdmin {
			continue
		}
		if slices.Contains(hashes, k.Hash) {
			return nil, nil
		}
		old, owner = append(old, k), k.MemberID
	}
	if owner == "" {
		return nil, Precondition("team %s has no instance admin key to rotate", t.id)
	}
	out := []Payload{APIKeyCreated{KeyID: keyID, MemberID: owner, KeyHash: hashes[0], InstanceAdmin: true, Prefix: prefix}}
	for _, k := range old {
		out = append(out, APIKeyRevoked{KeyID: k.ID, MemberID: k.MemberID, Reason: RevokedByRotation})
	}
	return out, nil
}

// Link returns one of the team's account links.
func (t *Team) Link(id string) (AccountLink, error) {
	l, ok := t.links[id]
	if !ok {
		return AccountLink{}, NotFound("account link", id)
	}
	return l, nil
}

// ActiveLink returns a link that may receive and send messages: linked, not unlinked.
func (t *Team) ActiveLink(id string) (AccountLink, error) {
	l, err := t.Link(id)
	if err != nil {
		return l, err
	}
	if l.Unlinked {
		return l, Precondition("account link %s is unlinked", id)
	}
	return l, nil
}

// LinkAccount links an account, or relinks it (same id: its threads stay), healthy again.
// Relinking an account the team has linked replaces its credentials (and so who receives its
// webhooks): owners and admins only.
func (t *Team) LinkAccount(actorRole Role, l AccountLinked) (AccountLinked, error) {
	if _, linked := t.links[l.AccountLinkID]; linked && actorRole != RoleOwner && actorRole != RoleAdmin {
		return AccountLinked{}, PermissionDenied("only owners and admins relink an account that is already linked")
	}
	return l, nil
}

// UnlinkAccount unlinks a linked account.
func (t *Team) UnlinkAccount(id string) (AccountUnlinked, error) {
	l, err := t.Link(id)
	if err != nil {
		return AccountUnlinked{}, err
	}
	if l.Unlinked {
		return AccountUnlinked{}, Precondition("account link %s is already unlinked", id)
	}
	return AccountUnlinked{AccountLinkID: id}, nil
}

// ReportHealth records a link's credentials refused (healthy false, with a reason) or working
// again. A report that changes nothing (the link already in that state, or unlinked) decides
// nothing: ok is false.
func (t *Team) ReportHealth(id string, healthy bool, reason string) (e AccountHealthChanged, ok bool, err error) {
	l, err := t.Link(id)
	if err != nil {
		return e, false, err
	}
	if !healthy && reason == "" {
		return e, false, Invalid("reason", "is required when the link is unhealthy")
	}
	same := l.Healthy
	if !healthy {
		same = !l.Healthy && l.HealthReason == reason
	}
	if l.Unlinked || same {
		return e, false, nil
	}
	return AccountHealthChanged{AccountLinkID: id, Healthy: healthy, Reason: reason}, true, nil
}

// RecordTokenRefresh records that a link's access token was renewed, valid until expiresAt
// (zero: it does not expire). An unlinked link's token is not kept fresh.
func (t *Team) RecordTokenRefresh(id string, expiresAt time.Time) (AccountTokenRefreshed, error) {
	l, err := t.Link(id)
	if err != nil {
		return AccountTokenRefreshed{}, err
	}
	if l.Unlinked {
		return AccountTokenRefreshed{}, Precondition("account link %s is unlinked", id)
	}
	return AccountTokenRefreshed{AccountLinkID: id, ExpiresAt: expiresAt.UTC()}, nil
}
