package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldhq/herald/models"
)

func TestCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{
		"DATABASE_URL":    "sqlite://" + filepath.Join(dir, "herald.db"),
		"HERALD_DATA_DIR": dir,
	}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	runCmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, getenv, &out, &errOut)
		return out.String(), err
	}

	out, err := runCmd("migrate")
	if err != nil || !strings.Contains(out, "schema version") {
		t.Fatalf("migrate: %q, %v", out, err)
	}
	if _, err := runCmd("user", "create", "--email", "ops@example.com", "--password", "long enough pass", "--role", "admin"); err != nil {
		t.Fatalf("user create: %v", err)
	}
	if _, err := runCmd("user", "create", "--email", "ops@example.com", "--password", "short", "--role", "admin"); err == nil {
		t.Fatal("user create accepted a short password")
	}
	if _, err := runCmd("user", "create", "--email", "x@example.com", "--password", "long enough pass", "--role", "owner"); err == nil {
		t.Fatal("user create accepted an unknown role")
	}
	out, err = runCmd("apikey", "create", "--name", "shop", "--role", "marketer")
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "hrld_") || strings.Contains(key, " ") {
		t.Fatalf("the last line %q is not the key alone", key)
	}
	store, err := models.Open(ctx, env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	k, err := store.APIKeyByToken(ctx, key)
	if err != nil || k.Role != models.RoleMarketer {
		t.Fatalf("printed key does not authenticate: %+v %v", k, err)
	}
	if _, err := store.Authenticate(ctx, "ops@example.com", "long enough pass", "127.0.0.1", models.DefaultLoginPolicy); err != nil {
		t.Fatalf("created user cannot sign in: %v", err)
	}
	if _, err := runCmd("frobnicate"); err == nil {
		t.Fatal("an unknown command succeeded")
	}
}
