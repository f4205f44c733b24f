package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp"
)

// StoredSenders resolves senders from the senders table: each gets a Cloud
// API client built from its sealed credentials, its throughput as the rate
// and its messaging-limit tier as the daily cap. A stopped sender is refused,
// so its campaigns wait instead of failing message by message.
type StoredSenders struct {
	store *models.Store

	mu      sync.Mutex
	clients map[int64]cachedSender
}

type cachedSender struct {
	client   *whatsapp.Client
	limits   SenderLimits
	status   string
	reason   string
	loadedAt time.Time
}

// storedSenderTTL bounds how long a changed token or tier takes to apply.
const storedSenderTTL = 30 * time.Second

// NewStoredSenders builds the provider.
func NewStoredSenders(store *models.Store) *StoredSenders {
	return &StoredSenders{store: store, clients: map[int64]cachedSender{}}
}

// ClientFor implements SenderProvider; senderID 0 is the default sender.
func (p *StoredSenders) ClientFor(ctx context.Context, senderID int64) (Sender, SenderLimits, error) {
	p.mu.Lock()
	c, ok := p.clients[senderID]
	p.mu.Unlock()
	if !ok || time.Since(c.loadedAt) > storedSenderTTL {
		var err error
		if c, err = p.load(ctx, senderID); err != nil {
			return nil, SenderLimits{}, err
		}
		p.mu.Lock()
		p.clients[senderID] = c
		p.mu.Unlock()
	}
	if c.status == models.SenderStopped {
		return nil, SenderLimits{}, fmt.Errorf("jobs: sender %d is stopped: %s", senderID, c.reason)
	}
	return c.client, c.limits, nil
}

func (p *StoredSenders) load(ctx context.Context, senderID int64) (cachedSender, error) {
	var snd *models.Sender
	var err error
	if senderID == 0 {
		snd, err = p.store.DefaultSender(ctx)
	} else {
		snd, err = p.store.SenderByID(ctx, senderID)
	}
	if err != nil {
		return cachedSender{}, fmt.Errorf("jobs: sender %d: %w", senderID, err)
	}
	creds, err := p.store.Credentials(snd)
	if err != nil {
		return cachedSender{}, fmt.Errorf("jobs: sender %d credentials: %w", senderID, err)
	}
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: snd.APIURL, APIVersion: snd.APIVersion, Token: creds.Token,
		PhoneNumberID: snd.PhoneNumberID, WABAID: snd.WABAID})
	return cachedSender{
		client:   client,
		limits:   SenderLimits{Rate: float64(snd.ThroughputMPS), DailyUnique: TierLimit(snd.MessagingLimitTier)},
		status:   snd.Status,
		reason:   snd.StatusReason,
		loadedAt: time.Now(),
	}, nil
}
