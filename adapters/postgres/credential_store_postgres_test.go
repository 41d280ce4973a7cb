package postgres

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-oss/switchboard/adapters/secretbox"
)

const pgSecretToken = "EAAGm0PX4ZCpsBAKZCZBsecret-token-value"

func pgTestBox(t *testing.T, fill byte) *secretbox.Box {
	t.Helper()
	box, err := secretbox.New(bytes.Repeat([]byte{fill}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func pgOpenCredentials(t *testing.T, schema string, box *secretbox.Box) *CredentialStore {
	t.Helper()
	s, err := OpenCredentialStore(context.Background(), pgTestURL(t), box, WithSchema(schema), WithLogger(pgQuiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCredentialsPutGetReplace(t *testing.T) {
	schema := pgTestSchema(t)
	s := pgOpenCredentials(t, schema, pgTestBox(t, 1))
	ctx := context.Background()

	got, err := s.Get(ctx, "team_a", "acc_1")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Get of nothing = %v, %v; want an empty map", got, err)
	}
	first := map[string]string{"access_token": pgSecretToken, "app_secret": "s3cr3t"}
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

	// Another API process with the same key reads them.
	other := pgOpenCredentials(t, schema, pgTestBox(t, 1))
	if got, err := other.Get(ctx, "team_a", "acc_1"); err != nil || !maps.Equal(got, second) {
		t.Fatalf("another process reads %v, %v", got, err)
	}
	if err := other.Put(ctx, "team_a", "acc_1", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "team_a", "acc_1"); len(got) != 0 {
		t.Fatalf("after an empty Put Get = %v", got)
	}
}

func TestCredentialsNeverInClear(t *testing.T) {
	schema := pgTestSchema(t)
	s := pgOpenCredentials(t, schema, pgTestBox(t, 1))
	if err := s.Put(context.Background(), "team_a", "acc_1", map[string]string{"access_token": pgSecretToken}); err != nil {
		t.Fatal(err)
	}
	var row []byte
	err := pgAdmin(t).QueryRow(context.Background(), "SELECT convert_to(c::text, 'UTF8') FROM "+
		pgx.Identifier{schema, "credentials"}.Sanitize()+" c").Scan(&row)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(row, []byte(pgSecretToken)) || bytes.Contains(row, []byte("access_token")) {
		t.Fatal("the credentials row holds the credentials in clear")
	}
}

func TestCredentialsBoundToTeamAndLink(t *testing.T) {
	schema := pgTestSchema(t)
	s := pgOpenCredentials(t, schema, pgTestBox(t, 1))
	admin := pgAdmin(t)
	ctx := context.Background()
	if err := s.Put(ctx, "team_a", "acc_1", map[string]string{"access_token": pgSecretToken}); err != nil {
		t.Fatal(err)
	}
	table := pgx.Identifier{schema, "credentials"}.Sanitize()
	// Someone with write access to the database moves the sealed value to another link, then
	// to another team: it must not open there.
	for _, move := range []string{
		`UPDATE ` + table + ` SET account_link_id = 'acc_2'`,
		`UPDATE ` + table + ` SET team_id = 'team_b', account_link_id = 'acc_1'`,
	} {
		if _, err := admin.Exec(ctx, move); err != nil {
			t.Fatal(err)
		}
		var team, link string
		if err := admin.QueryRow(ctx, `SELECT team_id, account_link_id FROM `+table).Scan(&team, &link); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, team, link)
		if err == nil {
			t.Fatalf("a row moved to %s/%s opened: %v", team, link, got)
		}
		if strings.Contains(err.Error(), pgSecretToken) {
			t.Fatal("the error contains the credential")
		}
	}
}

func TestCredentialsNeedTheirKey(t *testing.T) {
	schema := pgTestSchema(t)
	s := pgOpenCredentials(t, schema, pgTestBox(t, 1))
	if err := s.Put(context.Background(), "team_a", "acc_1", map[string]string{"access_token": pgSecretToken}); err != nil {
		t.Fatal(err)
	}
	other := pgOpenCredentials(t, schema, pgTestBox(t, 2))
	_, err := other.Get(context.Background(), "team_a", "acc_1")
	if err == nil {
		t.Fatal("another key opened the credentials")
	}
	if strings.Contains(err.Error(), pgSecretToken) {
		t.Fatal("the error contains the credential")
	}
}

func TestCredentialsRefuseMissingIDs(t *testing.T) {
	s := pgOpenCredentials(t, pgTestSchema(t), pgTestBox(t, 1))
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
	if _, err := OpenCredentialStore(ctx, pgTestURL(t), nil); err == nil {
		t.Fatal("opened without a box")
	}
}
