package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Sender is one WhatsApp business phone number Herald sends from. Its
// token, app secret and verify token are sealed at rest and only opened
// for use; the UI never shows them again after saving.
type Sender struct {
	ID                 int64
	Name               string
	PhoneNumberID      string
	WABAID             string `gorm:"column:waba_id"`
	DisplayPhone       string
	APIURL             string `gorm:"column:api_url"`
	APIVersion         string `gorm:"column:api_version"`
	TokenEnc           []byte `json:"-"`
	AppSecretEnc       []byte `json:"-"`
	VerifyTokenEnc     []byte `json:"-"`
	QualityRating      string
	MessagingLimitTier string
	ThroughputMPS      int `gorm:"column:throughput_mps"`
	Status             string
	StatusReason       string
	IsDefault          bool
	LastCheckedAt      *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Sender statuses.
const (
	SenderActive  = "active"
	SenderStopped = "stopped"
)

// DefaultThroughputMPS is Meta's default per-number rate (reference 5.1).
const DefaultThroughputMPS = 80

// SenderCredentials are a sender's secrets in the clear, for the client.
type SenderCredentials struct {
	Token, AppSecret, VerifyToken string
}

// SenderInput is what an admin enters for a sender.
type SenderInput struct {
	Name, PhoneNumberID, WABAID, DisplayPhone, APIURL, APIVersion string
	Credentials                                                   SenderCredentials
	ThroughputMPS                                                 int
	IsDefault                                                     bool
}

// SaveSender creates the sender with this phone-number ID or updates it.
// Empty credentials keep the stored ones, so an edit form need not show them.
func (s *Store) SaveSender(ctx context.Context, in SenderInput) (*Sender, error) {
	in.PhoneNumberID = strings.TrimSpace(in.PhoneNumberID)
	if in.PhoneNumberID == "" || strings.TrimSpace(in.WABAID) == "" {
		return nil, fmt.Errorf("models: sender needs a phone-number ID and a WABA ID: %w", ErrInvalid)
	}
	var out *Sender
	err := s.Tx(ctx, func(tx *Store) error {
		var snd Sender
		err := tx.db.Where("phone_number_id = ?", in.PhoneNumberID).First(&snd).Error
		isNew := errors.Is(err, gorm.ErrRecordNotFound)
		if err != nil && !isNew {
			return fmt.Errorf("models: find sender %s: %w", in.PhoneNumberID, err)
		}
		now := time.Now().UTC()
		if isNew {
			snd = Sender{PhoneNumberID: in.PhoneNumberID, Status: SenderActive, QualityRating: "UNKNOWN", CreatedAt: now}
		}
		snd.Name = strings.TrimSpace(in.Name)
		if snd.Name == "" {
			snd.Name = "WhatsApp " + in.PhoneNumberID
		}
		snd.WABAID, snd.DisplayPhone, snd.APIURL, snd.APIVersion = in.WABAID, in.DisplayPhone, in.APIURL, in.APIVersion
		switch {
		case in.ThroughputMPS > 0:
			snd.ThroughputMPS = in.ThroughputMPS
		case isNew:
			snd.ThroughputMPS = DefaultThroughputMPS
		}
		for _, c := range []struct {
			plain string
			dst   *[]byte
		}{{in.Credentials.Token, &snd.TokenEnc}, {in.Credentials.AppSecret, &snd.AppSecretEnc}, {in.Credentials.VerifyToken, &snd.VerifyTokenEnc}} {
			if c.plain == "" {
				continue
			}
			sealed, err := tx.creds.seal(c.plain)
			if err != nil {
				return err
			}
			*c.dst = sealed
		}
		snd.UpdatedAt = now
		var count int64
		if err := tx.db.Model(&Sender{}).Count(&count).Error; err != nil {
			return fmt.Errorf("models: count senders: %w", err)
		}
		snd.IsDefault = in.IsDefault || count == 0 || (!isNew && snd.IsDefault)
		if snd.IsDefault {
			if err := tx.db.Model(&Sender{}).Where("phone_number_id <> ?", in.PhoneNumberID).Update("is_default", false).Error; err != nil {
				return fmt.Errorf("models: reset default sender: %w", err)
			}
		}
		if err := tx.db.Save(&snd).Error; err != nil {
			return fmt.Errorf("models: save sender %s: %w", in.PhoneNumberID, err)
		}
		out = &snd
		return nil
	})
	return out, err
}

// Senders lists every sender, the default first.
func (s *Store) Senders(ctx context.Context) ([]Sender, error) {
	var out []Sender
	if err := s.db.WithContext(ctx).Order("is_default DESC, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list senders: %w", err)
	}
	return out, nil
}

// SenderByID finds one sender.
func (s *Store) SenderByID(ctx context.Context, id int64) (*Sender, error) {
	var snd Sender
	if err := s.db.WithContext(ctx).First(&snd, id).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("sender %d", id))
	}
	return &snd, nil
}

// SenderByPhoneNumberID finds the sender of a webhook's metadata.
func (s *Store) SenderByPhoneNumberID(ctx context.Context, phoneNumberID string) (*Sender, error) {
	var snd Sender
	if err := s.db.WithContext(ctx).Where("phone_number_id = ?", phoneNumberID).First(&snd).Error; err != nil {
		return nil, notFound(err, "sender "+phoneNumberID)
	}
	return &snd, nil
}

// DefaultSender is the sender campaigns use unless they name another.
func (s *Store) DefaultSender(ctx context.Context) (*Sender, error) {
	var snd Sender
	if err := s.db.WithContext(ctx).Order("is_default DESC, id").First(&snd).Error; err != nil {
		return nil, notFound(err, "default sender")
	}
	return &snd, nil
}

// Credentials opens a sender's sealed secrets.
func (s *Store) Credentials(snd *Sender) (SenderCredentials, error) {
	var c SenderCredentials
	var err error
	if c.Token, err = s.creds.open(snd.TokenEnc); err != nil {
		return c, err
	}
	if c.AppSecret, err = s.creds.open(snd.AppSecretEnc); err != nil {
		return c, err
	}
	c.VerifyToken, err = s.creds.open(snd.VerifyTokenEnc)
	return c, err
}

// SenderHealth is what the Cloud API reports about a number.
type SenderHealth struct {
	DisplayPhone, QualityRating, MessagingLimitTier string
	ThroughputMPS                                   int
}

// UpdateSenderHealth records a number's quality, tier and throughput.
func (s *Store) UpdateSenderHealth(ctx context.Context, phoneNumberID string, h SenderHealth) error {
	updates := map[string]any{"last_checked_at": time.Now().UTC(), "updated_at": time.Now().UTC()}
	if h.DisplayPhone != "" {
		updates["display_phone"] = h.DisplayPhone
	}
	if h.QualityRating != "" {
		updates["quality_rating"] = h.QualityRating
	}
	if h.MessagingLimitTier != "" {
		updates["messaging_limit_tier"] = h.MessagingLimitTier
	}
	if h.ThroughputMPS > 0 {
		updates["throughput_mps"] = h.ThroughputMPS
	}
	err := s.db.WithContext(ctx).Model(&Sender{}).Where("phone_number_id = ?", phoneNumberID).Updates(updates).Error
	if err != nil {
		return fmt.Errorf("models: update sender %s health: %w", phoneNumberID, err)
	}
	return nil
}

// SetSenderStatus stops a sender (token expired, account restricted) or
// reactivates it; a stopped sender's campaigns do not send.
func (s *Store) SetSenderStatus(ctx context.Context, id int64, status, reason string) error {
	err := s.db.WithContext(ctx).Model(&Sender{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "status_reason": reason, "updated_at": time.Now().UTC()}).Error
	if err != nil {
		return fmt.Errorf("models: set sender %d status: %w", id, err)
	}
	return nil
}

// WebhookSecrets returns every app secret and verify token Herald knows, so
// a webhook from any configured WABA can be verified.
func (s *Store) WebhookSecrets(ctx context.Context) (appSecrets, verifyTokens []string, err error) {
	senders, err := s.Senders(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i := range senders {
		c, err := s.Credentials(&senders[i])
		if err != nil {
			return nil, nil, err
		}
		if c.AppSecret != "" {
			appSecrets = append(appSecrets, c.AppSecret)
		}
		if c.VerifyToken != "" {
			verifyTokens = append(verifyTokens, c.VerifyToken)
		}
	}
	return appSecrets, verifyTokens, nil
}
