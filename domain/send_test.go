package domain

import "testing"

func TestSendTransitions(t *testing.T) {
	all := []SendStatus{{}, SendPending, SendSent, SendDelivered, SendRead, SendFailed, SendCancelled}
	legal := map[[2]SendStatus]bool{
		{{}, SendPending}:         true,
		{SendPending, SendSent}:   true,
		{SendPending, SendFailed}: true,
		{SendSent, SendDelivered}: true,
		{SendSent, SendRead}:      true,
		{SendSent, SendFailed}:    true,
		{SendDelivered, SendRead}: true,
		{SendFailed, SendPending}: true, // a retry
		// A receipt overtaking message.sent; an echo resolving an unknown outcome.
		{SendPending, SendDelivered}: true,
		{SendPending, SendRead}:      true,
		{SendFailed, SendSent}:       true,
		{SendPending, SendCancelled}: true,
	}
	for _, from := range all {
		for _, to := range all[1:] {
			changed, err := from.Transition("msg_1", to)
			switch {
			case from == to:
				if changed || err != nil {
					t.Errorf("%q → %q (a repeat) = %v, %v; want no change, no error", from, to, changed, err)
				}
			case legal[[2]SendStatus{from, to}]:
				if !changed || err != nil {
					t.Errorf("%q → %q = %v, %v; want a change", from, to, changed, err)
				}
			default:
				if changed || KindOf(err) != KindPrecondition {
					t.Errorf("%q → %q = %v, %v; want a broken rule", from, to, changed, err)
				}
			}
		}
	}
	if _, err := (SendStatus{}).Transition("msg_1", SendSent); err == nil || err.Error() != "message msg_1 is not requested and cannot become sent" {
		t.Errorf("error text: %v", err)
	}
}
