package models

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// Link is a tracked URL: a tap on /r/{code} is recorded for the message and
// sent on to URL.
type Link struct {
	ID        int64
	Code      string
	MessageID *int64 // nil for links not tied to one message (test sends)
	URL       string
	CreatedAt time.Time
}

// TableName is the links table.
func (Link) TableName() string { return "links" }

// LinkTap is what the redirect needs after a tap was recorded.
type LinkTap struct {
	URL          string
	MessageID    int64  // 0 when the link has no message
	CampaignID   int64  // 0 when the message is not part of a campaign
	CampaignName string // "" likewise
	FirstTap     bool   // the message's first tap: tapped_at was set now
}

// UTMCampaign is the utm_campaign value for the tap: the campaign's name,
// its id when unnamed, "" without a campaign.
func (t LinkTap) UTMCampaign() string {
	switch {
	case t.CampaignName != "":
		return t.CampaignName
	case t.CampaignID != 0:
		return strconv.FormatInt(t.CampaignID, 10)
	}
	return ""
}

// CreateLink stores a tracked link for messageID (0 for none). A code that
// exists already is ErrConflict; callers make a new code and retry.
func (s *Store) CreateLink(ctx context.Context, code string, messageID int64, url string) (*Link, error) {
	l := Link{Code: code, URL: url, CreatedAt: time.Now().UTC()}
	if messageID != 0 {
		l.MessageID = &messageID
	}
	if err := s.db.WithContext(ctx).Create(&l).Error; err != nil {
		return nil, notFound(err, "create link "+code)
	}
	return &l, nil
}

// LinkByCode finds a tracked link.
func (s *Store) LinkByCode(ctx context.Context, code string) (*Link, error) {
	var l Link
	if err := s.db.WithContext(ctx).Where("code = ?", code).First(&l).Error; err != nil {
		return nil, notFound(err, "link "+code)
	}
	return &l, nil
}

// RecordLinkTap resolves code and, on the message's first tap, sets
// messages.tapped_at and adds a 'tapped' message event; later taps only
// resolve, so the funnel counts each message once.
func (s *Store) RecordLinkTap(ctx context.Context, code string, at time.Time) (LinkTap, error) {
	at = at.UTC()
	var tap LinkTap
	err := s.Tx(ctx, func(tx *Store) error {
		l, err := tx.LinkByCode(ctx, code)
		if err != nil {
			return err
		}
		tap.URL = l.URL
		if l.MessageID == nil {
			return nil
		}
		tap.MessageID = *l.MessageID
		db := tx.db.WithContext(ctx)
		res := db.Exec("UPDATE messages SET tapped_at = ?, updated_at = ? WHERE id = ? AND tapped_at IS NULL", at, at, tap.MessageID)
		if res.Error != nil {
			return fmt.Errorf("models: record tap on message %d: %w", tap.MessageID, res.Error)
		}
		if res.RowsAffected == 1 {
			tap.FirstTap = true
			if err := db.Exec(`INSERT INTO message_events (message_id, status, detail, occurred_at, created_at)
				VALUES (?, 'tapped', ?, ?, ?)`, tap.MessageID, "link "+code, at, at).Error; err != nil {
				return fmt.Errorf("models: record tap event on message %d: %w", tap.MessageID, err)
			}
		}
		var camp struct {
			ID   sql.NullInt64
			Name sql.NullString
		}
		if err := db.Raw(`SELECT c.id, c.name FROM messages m LEFT JOIN campaigns c ON c.id = m.campaign_id
			WHERE m.id = ?`, tap.MessageID).Scan(&camp).Error; err != nil {
			return fmt.Errorf("models: campaign of message %d: %w", tap.MessageID, err)
		}
		tap.CampaignID, tap.CampaignName = camp.ID.Int64, camp.Name.String
		return nil
	})
	if err != nil {
		return LinkTap{}, err
	}
	return tap, nil
}
