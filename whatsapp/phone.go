package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// PhoneNumberInfo is a sender number's health: quality, throughput level and
// the portfolio's messaging-limit tier.
type PhoneNumberInfo struct {
	ID                 string
	DisplayPhoneNumber string
	VerifiedName       string
	QualityRating      string // GREEN, YELLOW, RED, UNKNOWN
	ThroughputLevel    string // e.g. STANDARD, HIGH
	MessagingLimitTier string // TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED
}

// MessagingLimit returns the number of unique users the tier allows per
// moving 24 h, -1 for unlimited, 0 if the tier is unknown.
func (p PhoneNumberInfo) MessagingLimit() int {
	switch p.MessagingLimitTier {
	case "TIER_50":
		return 50
	case "TIER_250":
		return 250
	case "TIER_1K":
		return 1000
	case "TIER_2K":
		return 2000
	case "TIER_10K":
		return 10000
	case "TIER_100K":
		return 100000
	case "TIER_UNLIMITED", "UNLIMITED":
		return -1
	}
	return 0
}

// MessagesPerSecond returns the throughput of the level: 1000 for HIGH,
// 80 otherwise (Meta's default).
func (p PhoneNumberInfo) MessagesPerSecond() int {
	if p.ThroughputLevel == "HIGH" {
		return 1000
	}
	return 80
}

const phoneFields = "display_phone_number,verified_name,quality_rating,throughput,whatsapp_business_manager_messaging_limit,messaging_limit_tier"

// PhoneNumber reads the sender number's quality, throughput and limit tier.
func (c *Client) PhoneNumber(ctx context.Context) (PhoneNumberInfo, error) {
	var resp struct {
		ID                 string `json:"id"`
		DisplayPhoneNumber string `json:"display_phone_number"`
		VerifiedName       string `json:"verified_name"`
		QualityRating      string `json:"quality_rating"`
		Throughput         struct {
			Level string `json:"level"`
		} `json:"throughput"`
		Limit       json.RawMessage `json:"whatsapp_business_manager_messaging_limit"`
		LegacyLimit string          `json:"messaging_limit_tier"`
	}
	q := url.Values{"fields": {phoneFields}}
	if err := c.do(ctx, "GET", c.endpoint(url.PathEscape(c.cfg.PhoneNumberID), q), nil, &resp); err != nil {
		return PhoneNumberInfo{}, fmt.Errorf("whatsapp: read phone number %s: %w", c.cfg.PhoneNumberID, err)
	}
	info := PhoneNumberInfo{
		ID: resp.ID, DisplayPhoneNumber: resp.DisplayPhoneNumber, VerifiedName: resp.VerifiedName,
		QualityRating: resp.QualityRating, ThroughputLevel: resp.Throughput.Level,
		MessagingLimitTier: decodeLimit(resp.Limit),
	}
	if info.MessagingLimitTier == "" {
		info.MessagingLimitTier = resp.LegacyLimit
	}
	return info, nil
}

// decodeLimit accepts the limit as a plain string or as an object with
// current_limit, since public copies of the docs show both.
func decodeLimit(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		CurrentLimit string `json:"current_limit"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.CurrentLimit
	}
	return ""
}
