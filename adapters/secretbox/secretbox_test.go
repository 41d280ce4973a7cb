package secretbox

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func testKey(t *testing.T) []byte {
	t.Helper()
	k := bytes.Repeat([]byte{7}, KeySize)
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	box, err := New(testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range [][]byte{nil, []byte("x"), []byte(`{"access_token":"EAAB..."}`), bytes.Repeat([]byte("a"), 1<<16)} {
		ct, err := box.Seal(pt, []byte("team_a/acc_b"))
		if err != nil {
			t.Fatal(err)
		}
		if len(pt) >= 8 && bytes.Contains(ct, pt) { // shorter ones may occur by chance
			t.Fatal("ciphertext contains the plaintext")
		}
		got, err := box.Open(ct, []byte("team_a/acc_b"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("round trip: got %q, want %q", got, pt)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	box, _ := New(testKey(t))
	a, _ := box.Seal([]byte("same"), nil)
	b, _ := box.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal: nonce reused")
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	box, _ := New(testKey(t))
	ct, _ := box.Seal([]byte("secret"), []byte("aad"))
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := box.Open(bad, []byte("aad")); !errors.Is(err, ErrOpen) {
			t.Fatalf("flipping byte %d: err = %v, want ErrOpen", i, err)
		}
	}
	if _, err := box.Open(ct[:len(ct)-1], []byte("aad")); !errors.Is(err, ErrOpen) {
		t.Fatalf("truncated: err = %v, want ErrOpen", err)
	}
	if _, err := box.Open(nil, []byte("aad")); !errors.Is(err, ErrOpen) {
		t.Fatalf("empty: err = %v, want ErrOpen", err)
	}
}

func TestOpenRejectsWrongAADAndKey(t *testing.T) {
	box, _ := New(testKey(t))
	ct, _ := box.Seal([]byte("secret"), []byte("team_a/acc_1"))
	if _, err := box.Open(ct, []byte("team_a/acc_2")); !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong aad: err = %v, want ErrOpen", err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(ct, []byte("team_a/acc_1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("wrong key: err = %v, want ErrOpen", err)
	}
}

func TestNewRejectsBadKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Fatalf("New accepted a %d-byte key", n)
		}
	}
}

func TestLoadKeyFromEnv(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i*7 + 250) // includes bytes that differ between std and url base64
	}
	for name, v := range map[string]string{
		"base64 std":     base64.StdEncoding.EncodeToString(key),
		"base64 raw url": base64.RawURLEncoding.EncodeToString(key),
		"hex":            hex.EncodeToString(key),
		"hex, newline":   hex.EncodeToString(key) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			// The key file must be ignored when the variable is set.
			got, err := LoadKey(v, filepath.Join(t.TempDir(), "never-created"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, key) {
				t.Fatal("decoded key differs")
			}
		})
	}
}

func TestLoadKeyRejectsBadEnvWithoutPrintingIt(t *testing.T) {
	for _, v := range []string{
		"not-a-key-at-all",
		base64.StdEncoding.EncodeToString(make([]byte, 16)),
		hex.EncodeToString(make([]byte, 31)),
		"zzzz" + hex.EncodeToString(make([]byte, 30)),
	} {
		dir := t.TempDir()
		_, err := LoadKey(v, filepath.Join(dir, "key"))
		if err == nil {
			t.Fatalf("accepted %q", v)
		}
		if !strings.Contains(err.Error(), "SWITCHBOARD_SECRET_KEY") {
			t.Fatalf("error does not name the variable: %v", err)
		}
		if strings.Contains(err.Error(), v) {
			t.Fatalf("error prints the value: %v", err)
		}
		if _, statErr := os.Stat(filepath.Join(dir, "key")); statErr == nil {
			t.Fatal("a bad variable fell back to creating a key file")
		}
	}
}

func TestLoadKeyCreatesThenReusesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "secrets", "secret.key")
	first, err := LoadKey("", path)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != KeySize {
		t.Fatalf("key has %d bytes", len(first))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if dst.Mode().Perm() != 0o700 {
		t.Fatalf("key folder mode %v, want 0700", dst.Mode().Perm())
	}
	again, err := LoadKey("", path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Fatal("second load returned another key: sealed secrets would be lost")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("folder holds %d files, want only the key", len(entries))
	}
}

func TestLoadKeyConcurrentStartersAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadKey("", path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent starters got different keys")
		}
	}
}

func TestLoadKeyRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey("", path); err == nil {
		t.Fatal("accepted a corrupt key file")
	}
	if b, _ := os.ReadFile(path); string(b) != "garbage" {
		t.Fatal("a corrupt key file was overwritten")
	}
}
