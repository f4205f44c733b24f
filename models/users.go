package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm/clause"
)

// Role is what a user or API key may do. Roles are ordered: an admin can do
// all a marketer can, a marketer all a viewer can.
type Role string

// The three roles.
const (
	RoleViewer   Role = "viewer"
	RoleMarketer Role = "marketer"
	RoleAdmin    Role = "admin"
)

// Roles lists the roles from least to most powerful.
var Roles = []Role{RoleViewer, RoleMarketer, RoleAdmin}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("models: role %q is not one of admin, marketer, viewer: %w", s, ErrInvalid)
}

// Allows reports whether r is at least as powerful as need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() }

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleMarketer:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// User is a person who signs in to the web UI.
type User struct {
	ID           int64
	Email        string
	PasswordHash string `json:"-"`
	Role         Role
	LastLoginAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// MinPasswordLength is the shortest password Herald accepts.
const MinPasswordLength = 10

// NormalizeEmail lowercases and trims an address so sign-in is
// case-insensitive.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// UpsertUser creates the user or, when the e-mail exists, sets its password
// and role. It is what `herald user create` does.
func (s *Store) UpsertUser(ctx context.Context, email, password string, role Role) (*User, error) {
	email = NormalizeEmail(email)
	if !strings.Contains(email, "@") {
		return nil, fmt.Errorf("models: user %q: not an e-mail address: %w", email, ErrInvalid)
	}
	if len(password) < MinPasswordLength {
		return nil, fmt.Errorf("models: user %s: password must have at least %d characters: %w", email, MinPasswordLength, ErrInvalid)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("models: hash password: %w", err)
	}
	now := time.Now().UTC()
	u := User{Email: email, PasswordHash: string(hash), Role: role, CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "email"}},
		DoUpdates: clause.AssignmentColumns([]string{"password_hash", "role", "updated_at"}),
	}).Create(&u).Error
	if err != nil {
		return nil, fmt.Errorf("models: upsert user %s: %w", email, err)
	}
	return s.UserByEmail(ctx, email)
}

// UserByEmail finds a user by address.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("email = ?", NormalizeEmail(email)).First(&u).Error; err != nil {
		return nil, notFound(err, "user "+email)
	}
	return &u, nil
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).First(&u, id).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("user %d", id))
	}
	return &u, nil
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var users []User
	if err := s.db.WithContext(ctx).Order("id").Find(&users).Error; err != nil {
		return nil, fmt.Errorf("models: list users: %w", err)
	}
	return users, nil
}

// CountUsers tells whether Herald has been set up.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&User{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: count users: %w", err)
	}
	return n, nil
}

// DeleteUser removes a user. The last admin cannot be removed, so Herald
// can always be administered.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.Tx(ctx, func(tx *Store) error {
		u, err := tx.UserByID(ctx, id)
		if err != nil {
			return err
		}
		if u.Role == RoleAdmin {
			var admins int64
			if err := tx.db.Model(&User{}).Where("role = ?", RoleAdmin).Count(&admins).Error; err != nil {
				return fmt.Errorf("models: count admins: %w", err)
			}
			if admins <= 1 {
				return fmt.Errorf("models: %s is the last admin: %w", u.Email, ErrConflict)
			}
		}
		if err := tx.db.Delete(&User{}, id).Error; err != nil {
			return fmt.Errorf("models: delete user %d: %w", id, err)
		}
		return nil
	})
}

// ErrBadCredentials is returned for a wrong e-mail or password alike, so a
// caller cannot learn which addresses exist.
var ErrBadCredentials = errors.New("wrong e-mail or password")

// ErrThrottled is returned when too many sign-in attempts failed lately.
var ErrThrottled = errors.New("too many failed sign-in attempts")

// LoginPolicy limits failed sign-ins per account and per client address.
type LoginPolicy struct {
	MaxFailures int
	Window      time.Duration
}

// DefaultLoginPolicy allows 5 failures a minute per account and per IP.
var DefaultLoginPolicy = LoginPolicy{MaxFailures: 5, Window: time.Minute}

// dummyHash is compared against when the e-mail is unknown, so a wrong
// address costs the same time as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("herald-timing-equaliser"), bcrypt.DefaultCost)

// Authenticate checks an e-mail and password, recording the attempt. The
// attempt log lives in the database so the limit holds across instances.
func (s *Store) Authenticate(ctx context.Context, email, password, ip string, policy LoginPolicy) (*User, error) {
	email = NormalizeEmail(email)
	since := time.Now().UTC().Add(-policy.Window)
	var failures struct{ ByEmail, ByIP int64 }
	err := s.db.WithContext(ctx).Raw(`SELECT
		(SELECT COUNT(*) FROM login_attempts WHERE email = ? AND NOT succeeded AND created_at > ?) AS by_email,
		(SELECT COUNT(*) FROM login_attempts WHERE ip = ? AND NOT succeeded AND created_at > ?) AS by_ip`,
		email, since, ip, since).Scan(&failures).Error
	if err != nil {
		return nil, fmt.Errorf("models: authenticate: %w", err)
	}
	if failures.ByEmail >= int64(policy.MaxFailures) || failures.ByIP >= int64(policy.MaxFailures) {
		return nil, ErrThrottled
	}
	u, err := s.UserByEmail(ctx, email)
	ok := false
	switch {
	case errors.Is(err, ErrNotFound):
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
	case err != nil:
		return nil, err
	default:
		ok = bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil
	}
	now := time.Now().UTC()
	if err := s.db.WithContext(ctx).Exec(
		"INSERT INTO login_attempts (email, ip, succeeded, created_at) VALUES (?, ?, ?, ?)",
		email, ip, ok, now).Error; err != nil {
		return nil, fmt.Errorf("models: record login attempt: %w", err)
	}
	if !ok {
		return nil, ErrBadCredentials
	}
	if err := s.db.WithContext(ctx).Model(u).Update("last_login_at", now).Error; err != nil {
		return nil, fmt.Errorf("models: record login: %w", err)
	}
	return u, nil
}

// PruneLoginAttempts deletes attempts older than a day; the hygiene job runs it.
func (s *Store) PruneLoginAttempts(ctx context.Context) error {
	err := s.db.WithContext(ctx).Exec("DELETE FROM login_attempts WHERE created_at < ?",
		time.Now().UTC().Add(-24*time.Hour)).Error
	if err != nil {
		return fmt.Errorf("models: prune login attempts: %w", err)
	}
	return nil
}

// APIKey is a credential for the REST API. Only its SHA-256 is stored; the
// key itself is shown once, when it is created.
type APIKey struct {
	ID          int64
	Name        string
	Prefix      string
	KeyHash     string `json:"-"`
	Role        Role
	CreatedByID *int64
	LastUsedAt  *time.Time
	RevokedAt   *time.Time
	CreatedAt   time.Time
}

// apiKeyPrefix marks Herald keys so secret scanners can recognise them.
const apiKeyPrefix = "hrld_"

func hashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey makes a new key and returns it with the plaintext key, which
// is not stored and cannot be shown again.
func (s *Store) CreateAPIKey(ctx context.Context, name string, role Role, createdBy *int64) (*APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, "", fmt.Errorf("models: api key needs a name: %w", ErrInvalid)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, "", err
	}
	secret, err := randomToken(32)
	if err != nil {
		return nil, "", err
	}
	key := apiKeyPrefix + secret
	k := APIKey{Name: name, Prefix: key[:len(apiKeyPrefix)+6], KeyHash: hashAPIKey(key), Role: role,
		CreatedByID: createdBy, CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(&k).Error; err != nil {
		return nil, "", fmt.Errorf("models: create api key %q: %w", name, err)
	}
	return &k, key, nil
}

// APIKeyByToken finds the live key for a bearer token and records its use.
// A live key is then trusted for a few seconds without a lookup (see
// apiKeyTTL); RevokeAPIKey forgets it at once.
func (s *Store) APIKeyByToken(ctx context.Context, token string) (*APIKey, error) {
	hash := hashAPIKey(token)
	now := time.Now().UTC()
	if k, ok := s.apiKeys.get(hash, now); ok {
		return k, nil
	}
	var k APIKey
	err := s.db.WithContext(ctx).Where("key_hash = ? AND revoked_at IS NULL", hash).First(&k).Error
	if err != nil {
		return nil, notFound(err, "api key")
	}
	// Recording every use would make each API call a write; once a minute is
	// enough to tell which keys are alive.
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		s.db.WithContext(ctx).Model(&APIKey{}).Where("id = ?", k.ID).Update("last_used_at", now)
		k.LastUsedAt = &now
	}
	s.apiKeys.put(hash, k, now)
	return &k, nil
}

// ListAPIKeys returns all keys, newest first, revoked ones included.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var keys []APIKey
	if err := s.db.WithContext(ctx).Order("id DESC").Find(&keys).Error; err != nil {
		return nil, fmt.Errorf("models: list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey disables a key for good.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	res := s.db.WithContext(ctx).Model(&APIKey{}).Where("id = ? AND revoked_at IS NULL", id).
		Update("revoked_at", time.Now().UTC())
	s.apiKeys.drop(id)
	if res.Error != nil {
		return fmt.Errorf("models: revoke api key %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: revoke api key %d: %w", id, ErrNotFound)
	}
	return nil
}
