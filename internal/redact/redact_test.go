package redact

import "testing"

func TestSecrets(t *testing.T) {
	for _, c := range []struct {
		in      string
		secrets []string
		want    string
	}{
		// A long secret goes wherever it is, even inside other text.
		{"GET /me?access_token=EAAB1234567890xyz&fields=name", []string{"EAAB1234567890xyz"}, "GET /me?access_token=[redacted]&fields=name"},
		{"tokenEAAB1234567890xyzend", []string{"EAAB1234567890xyz"}, "token[redacted]end"},
		// A short one never masks pieces of words, which would reveal it…
		{"about the abbey", []string{"ab"}, "about the abbey"},
		// …but is masked where it stands alone.
		{"bad token ab (code 190), key=ab&x", []string{"ab"}, "bad token [redacted] (code 190), key=[redacted]&x"},
		{"ab", []string{"ab"}, "[redacted]"},
		// Longest first: a secret containing another is masked whole.
		{"pass=hunter2hunter2", []string{"hunter2", "hunter2hunter2"}, "pass=[redacted]"},
		{"nothing here", []string{""}, "nothing here"},
	} {
		if got := Secrets(c.in, c.secrets...); got != c.want {
			t.Errorf("Secrets(%q, %q) = %q, want %q", c.in, c.secrets, got, c.want)
		}
	}
}
