package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

func TestMigrateFromEmptyToLatest(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			v, err := db.Store.SchemaVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v != models.LatestSchemaVersion() {
				t.Fatalf("schema version %d, want %d", v, models.LatestSchemaVersion())
			}
			again, err := db.Store.Migrate(ctx)
			if err != nil || len(again) != 0 {
				t.Fatalf("second migrate applied %v, err %v; want nothing", again, err)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			if _, err := s.UpsertUser(ctx, "Ana@Example.com", "correct horse battery", models.RoleMarketer); err != nil {
				t.Fatal(err)
			}
			policy := models.LoginPolicy{MaxFailures: 3, Window: time.Minute}
			tests := []struct {
				name, email, password, ip string
				want                      error
			}{
				{"right password, other case", "ana@example.COM", "correct horse battery", "10.0.0.1", nil},
				{"wrong password", "ana@example.com", "wrong password!", "10.0.0.1", models.ErrBadCredentials},
				{"unknown address looks the same", "nobody@example.com", "correct horse battery", "10.0.0.2", models.ErrBadCredentials},
			}
			for _, tt := range tests {
				_, err := s.Authenticate(ctx, tt.email, tt.password, tt.ip, policy)
				if !errors.Is(err, tt.want) {
					t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
				}
			}
			// Two more failures reach the per-account limit of 3; then even the
			// right password is refused until the window passes.
			for range 2 {
				_, _ = s.Authenticate(ctx, "ana@example.com", "nope nope nope", "10.0.0.3", policy)
			}
			if _, err := s.Authenticate(ctx, "ana@example.com", "correct horse battery", "10.0.0.4", policy); !errors.Is(err, models.ErrThrottled) {
				t.Fatalf("after 3 failures: err %v, want ErrThrottled", err)
			}
		})
	}
}

func TestUpsertUserValidates(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t).Store
	ctx := context.Background()
	tests := []struct{ email, password, role string }{
		{"not-an-email", "long enough password", "admin"},
		{"a@b.c", "short", "admin"},
		{"a@b.c", "long enough password", "owner"},
	}
	for _, tt := range tests {
		if _, err := s.UpsertUser(ctx, tt.email, tt.password, models.Role(tt.role)); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("UpsertUser(%q, %q, %q) err %v, want ErrInvalid", tt.email, tt.password, tt.role, err)
		}
	}
}

func TestLastAdminCannotBeDeleted(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t).Store
	ctx := context.Background()
	admin, err := s.UpsertUser(ctx, "root@example.com", "long enough password", models.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, admin.ID); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("deleting the last admin: err %v, want ErrConflict", err)
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			k, plain, err := s.CreateAPIKey(ctx, "shop backend", models.RoleMarketer, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.APIKeyByToken(ctx, plain)
			if err != nil || got.ID != k.ID || got.Role != models.RoleMarketer {
				t.Fatalf("lookup by token: %+v, %v", got, err)
			}
			if _, err := s.APIKeyByToken(ctx, plain+"x"); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("wrong token: err %v, want ErrNotFound", err)
			}
			if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.APIKeyByToken(ctx, plain); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("revoked key: err %v, want ErrNotFound", err)
			}
		})
	}
}
