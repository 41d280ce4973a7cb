package domain

// SendStatus is where one of our replies stands. Only the transitions of CanBecome exist:
// pending → sent → delivered → read, or failed (from pending or sent, also reported by a
// platform after it accepted the message); a failed send may be retried (pending again); a
// pending one not yet attempted may be cancelled.
type SendStatus struct{ name string }

var (
	SendPending   = SendStatus{"pending"}
	SendSent      = SendStatus{"sent"}
	SendDelivered = SendStatus{"delivered"}
	SendRead      = SendStatus{"read"}
	SendFailed    = SendStatus{"failed"}
	// SendCancelled: the team cancelled the reply before any attempt; it is never sent.
	SendCancelled = SendStatus{"cancelled"}
)

func (s SendStatus) String() string { return s.name }

// IsZero reports the status of a message that was never requested.
func (s SendStatus) IsZero() bool { return s.name == "" }

var sendTransitions = map[SendStatus][]SendStatus{
	{}: {SendPending},
	// A receipt may overtake message.sent (they race): pending may move to delivered or read.
	SendPending:   {SendSent, SendFailed, SendCancelled, SendDelivered, SendRead},
	SendSent:      {SendDelivered, SendRead, SendFailed},
	SendDelivered: {SendRead},
	// Failed, and yet the platform shows it (an unknown outcome resolved by an echo): it is sent.
	SendFailed: {SendPending, SendSent},
}

// CanBecome reports whether a send may move from s to next.
func (s SendStatus) CanBecome(next SendStatus) bool {
	for _, n := range sendTransitions[s] {
		if n == next {
			return true
		}
	}
	return false
}

// Transition checks a move of message id's send from s to next: the same status again is a
// repeat (changed false, no error); an illegal move is a broken rule naming both states.
func (s SendStatus) Transition(id string, next SendStatus) (changed bool, err error) {
	if s == next {
		return false, nil
	}
	if !s.CanBecome(next) {
		from := s.name
		if from == "" {
			from = "not requested"
		}
		return false, Precondition("message %s is %s and cannot become %s", id, from, next.name)
	}
	return true, nil
}
