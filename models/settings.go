package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// setting is one key of the settings table; values are JSON so each feature
// keeps a typed struct without a migration per knob.
type setting struct {
	Key       string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

func (setting) TableName() string { return "settings" }

// GetSetting decodes the setting key into dst. It returns false, leaving dst
// untouched, when the key was never saved, so callers keep their defaults.
func (s *Store) GetSetting(ctx context.Context, key string, dst any) (bool, error) {
	var row setting
	err := s.db.WithContext(ctx).Where("key = ?", key).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("models: get setting %s: %w", key, err)
	}
	if err := json.Unmarshal([]byte(row.Value), dst); err != nil {
		return false, fmt.Errorf("models: decode setting %s: %w", key, err)
	}
	return true, nil
}

// PutSetting stores value as JSON under key.
func (s *Store) PutSetting(ctx context.Context, key string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("models: encode setting %s: %w", key, err)
	}
	row := setting{Key: key, Value: string(raw), UpdatedAt: time.Now().UTC()}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("models: put setting %s: %w", key, err)
	}
	return nil
}

// randomToken returns n random bytes, base64url-encoded without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("models: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
