package sqlite

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/secretbox"
)

func testBox(t *testing.T, fill byte) *secretbox.Box {
	t.Helper()
	box, err := secretbox.New(bytes.Repeat([]byte{fill}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func openTestStore(t *testing.T, path string, box *secretbox.Box) *CredentialStore {
	t.Helper()
	s, err := OpenCredentialStore(path, box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

const secretToken = "EAAGm0PX4ZCpsBAKZCZBsecret-token-value"

func TestCredentialsPutGetReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.db")
	s := openTestStore(t, path, testBox(t, 1))
	ctx := context.Background()

	got, err := s.Get(ctx, "team_a", "acc_1")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Get of nothing = %v, %v; want an empty map", got, err)
	}
	first := map[string]string{"access_token": secretToken, "app_secret": "s3cr3t"}
	if err := s.Put(ctx, "team_a", "acc_1", first); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "team_a", "acc_1"); err != nil || !maps.Equal(got, first) {
		t.Fatalf("Get = %v, %v", got, err)
	}
	// Put replaces the whole map: a key left out is gone.
	second := map[string]string{"access_token": "rotated"}
	if err := s.Put(ctx, "team_a", "acc_1", second); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "team_a", "acc_1"); !maps.Equal(got, second) {
		t.Fatalf("after replace Get = %v", got)
	}
	// Other links and teams are not touched.
	if got, _ := s.Get(ctx, "team_b", "acc_1"); len(got) != 0 {
		t.Fatalf("another team reads %v", got)
	}
	if got, _ := s.Get(ctx, "team_a", "acc_2"); len(got) != 0 {
		t.Fatalf("another link reads %v", got)
	}

	// Durable, and readable with the same key after a restart.
	s.Close()
	s = openTestStore(t, path, testBox(t, 1))
	if got, _ := s.Get(ctx, "team_a", "acc_1"); !maps.Equal(got, second) {
		t.Fatalf("after reopen Get = %v", got)
	}
	if err := s.Put(ctx, "team_a", "acc_1", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "team_a", "acc_1"); len(got) != 0 {
		t.Fatalf("after an empty Put Get = %v", got)
	}
}

func TestCredentialsNeverInClearOnDisk(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, filepath.Join(dir, "credentials.db"), testBox(t, 1))
	if err := s.Put(context.Background(), "team_a", "acc_1", map[string]string{"access_token": secretToken}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "credentials.db*")) // with -wal and -shm
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secretToken)) || bytes.Contains(b, []byte("access_token")) {
			t.Fatalf("%s holds the credentials in clear", filepath.Base(f))
		}
	}
}

func TestCredentialsBoundToTeamAndLink(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "credentials.db"), testBox(t, 1))
	ctx := context.Background()
	if err := s.Put(ctx, "team_a", "acc_1", map[string]string{"access_token": secretToken}); err != nil {
		t.Fatal(err)
	}
	// Someone with write access to the file moves the sealed value to another link, then
	// to another team: it must not open there.
	for _, move := range []string{
		`UPDATE credentials SET account_link_id = 'acc_2'`,
		`UPDATE credentials SET team_id = 'team_b', account_link_id = 'acc_1'`,
	} {
		if _, err := s.db.Exec(move); err != nil {
			t.Fatal(err)
		}
		var team, link string
		if err := s.db.QueryRow(`SELECT team_id, account_link_id FROM credentials`).Scan(&team, &link); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, team, link)
		if err == nil {
			t.Fatalf("a row moved to %s/%s opened: %v", team, link, got)
		}
		if strings.Contains(err.Error(), secretToken) {
			t.Fatal("the error contains the credential")
		}
	}
}

func TestCredentialsNeedTheirKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.db")
	s := openTestStore(t, path, testBox(t, 1))
	if err := s.Put(context.Background(), "team_a", "acc_1", map[string]string{"access_token": secretToken}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, path, testBox(t, 2))
	_, err := s.Get(context.Background(), "team_a", "acc_1")
	if err == nil {
		t.Fatal("another key opened the credentials")
	}
	if strings.Contains(err.Error(), secretToken) {
		t.Fatal("the error contains the credential")
	}
}

func TestCredentialsRefuseMissingIDs(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "credentials.db"), testBox(t, 1))
	ctx := context.Background()
	if err := s.Put(ctx, "", "acc_1", map[string]string{"a": "b"}); err == nil {
		t.Fatal("Put without team")
	}
	if err := s.Put(ctx, "team_a", "", map[string]string{"a": "b"}); err == nil {
		t.Fatal("Put without link")
	}
	if _, err := s.Get(ctx, "", "acc_1"); err == nil {
		t.Fatal("Get without team")
	}
	if _, err := OpenCredentialStore(filepath.Join(t.TempDir(), "c.db"), nil); err == nil {
		t.Fatal("opened without a box")
	}
}
