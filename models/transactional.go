package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TransactionalPriority is the ledger priority of messages sent through the
// API: above every broadcast (priority 0), so they are claimed first, skip
// the marketing frequency cap and go through the priority lane.
const TransactionalPriority = 100

// IdempotencyWindow is how long an API key's idempotency key names its first
// message; after it the key may be used again for a new one.
const IdempotencyWindow = 24 * time.Hour

// ErrContactSuppressed means the recipient opted out, blocked the business
// or is not on WhatsApp: nothing may be sent to them, not even an OTP.
var ErrContactSuppressed = errors.New("contact cannot be messaged")

// transactionalWhere selects API messages: no campaign, priority lane.
const transactionalWhere = "m.campaign_id IS NULL AND m.priority > 0"

// NewTransactional is one API message to queue.
type NewTransactional struct {
	APIKeyID       int64
	IdempotencyKey string // "" for none
	// Phone is the recipient in E.164; Country and Timezone describe it for
	// a contact created on the way.
	Phone, Country, Timezone string
	// TransactionalConsent, when set, records the caller's statement of the
	// contact's consent to transactional messages.
	TransactionalConsent *bool
	TemplateID           int64
	Category             string
	SenderID             *int64
	// Params is the JSON of the send parameters, secrets already masked.
	Params string
	// Secret is a one-time password, sealed at rest and cleared once sent.
	Secret      string
	CallbackURL string
	ExpiresAt   *time.Time
	// ClaimFor, when set, queues the row already claimed by that instance:
	// its priority lane takes the message from memory (Claimed) instead of
	// claiming it in another round trip, and no broadcast worker can pick it
	// up into a batch meanwhile. If that instance dies first, the rescuer
	// returns the claim to pending like any other.
	ClaimFor string
}

// TransactionalMessage is an API message as the API and the UI show it.
type TransactionalMessage struct {
	ID               int64
	ContactID        *int64
	APIKeyID         *int64
	APIKeyName       string
	ToPhone          string
	TemplateName     string
	TemplateLanguage string
	Category         string
	Status           string // ledger status; see PublicStatus
	StatusReason     string
	ErrorCode        int
	Params           string
	IdempotencyKey   *string
	CallbackURL      string
	WAMID            *string `gorm:"column:wamid"`
	ExpiresAt        NullTime
	SentAt           NullTime
	DeliveredAt      NullTime
	ReadAt           NullTime
	FailedAt         NullTime
	CreatedAt        NullTime
	UpdatedAt        NullTime
	// Claimed is the message as the priority lane takes it, when it was
	// queued claimed (NewTransactional.ClaimFor); nil otherwise.
	Claimed *ClaimedMessage `gorm:"-"`
}

// PublicStatus maps a ledger status to what the API reports: a message
// not yet answered by WhatsApp is "queued".
func PublicStatus(ledger string) string {
	switch ledger {
	case MessagePending, MessageClaimed, MessageSending:
		return "queued"
	}
	return ledger
}

// LedgerStatuses maps an API status filter back to ledger statuses.
func LedgerStatuses(public string) []string {
	if public == "queued" {
		return []string{MessagePending, MessageClaimed, MessageSending}
	}
	return []string{public}
}

const transactionalSelect = `SELECT m.id, m.contact_id, m.api_key_id, COALESCE(k.name, '') AS api_key_name, m.to_phone,
	COALESCE(t.name, '') AS template_name, COALESCE(t.language, '') AS template_language, m.category, m.status,
	m.status_reason, m.error_code, m.params, m.idempotency_key, m.callback_url, m.wamid, m.expires_at, m.sent_at,
	m.delivered_at, m.read_at, m.failed_at, m.created_at, m.updated_at
	FROM messages m LEFT JOIN templates t ON t.id = m.template_id LEFT JOIN api_keys k ON k.id = m.api_key_id `

// TransactionalByID returns one API message; a broadcast message is
// ErrNotFound.
func (s *Store) TransactionalByID(ctx context.Context, id int64) (*TransactionalMessage, error) {
	var rows []TransactionalMessage
	err := s.db.WithContext(ctx).Raw(transactionalSelect+"WHERE m.id = ? AND "+transactionalWhere, id).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: transactional message %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("models: transactional message %d: %w", id, ErrNotFound)
	}
	return &rows[0], nil
}

// IdempotentMessage returns the message an API key created with an
// idempotency key since since, or ErrNotFound.
func (s *Store) IdempotentMessage(ctx context.Context, apiKeyID int64, key string, since time.Time) (*TransactionalMessage, error) {
	var rows []TransactionalMessage
	err := s.db.WithContext(ctx).Raw(transactionalSelect+"WHERE m.api_key_id = ? AND m.idempotency_key = ? AND m.created_at >= ?",
		apiKeyID, key, since.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: idempotent message: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("models: idempotent message: %w", ErrNotFound)
	}
	return &rows[0], nil
}

// CreateTransactional queues an API message: the contact is created when
// unknown (and its transactional consent recorded when the caller states
// it), a suppressed contact is refused with ErrContactSuppressed, and the
// ledger row is inserted with send_after now, so quiet hours never hold it.
// With an idempotency key the unique index (api_key_id, idempotency_key)
// decides between concurrent duplicates: exactly one inserts, the others
// get its message and created=false. A key older than IdempotencyWindow is
// released for reuse first. On Postgres it is one statement (one round
// trip, one commit): the API answers sooner and costs the database less
// while a broadcast is sending; SQLite, and the rare race the statement
// cannot settle, take a transaction of several.
func (s *Store) CreateTransactional(ctx context.Context, in NewTransactional, now time.Time) (msg *TransactionalMessage, created bool, err error) {
	now = now.UTC()
	var sealed []byte
	if in.Secret != "" {
		if sealed, err = s.creds.seal(in.Secret); err != nil {
			return nil, false, fmt.Errorf("models: seal one-time password: %w", err)
		}
	}
	var key *string
	if in.IdempotencyKey != "" {
		key = &in.IdempotencyKey
	}
	var expires any
	if in.ExpiresAt != nil {
		expires = in.ExpiresAt.UTC()
	}
	status, claimedAt := MessagePending, any(nil)
	if in.ClaimFor != "" {
		status, claimedAt = MessageClaimed, now
	}
	var id, contact int64
	settled := false
	if s.dialect == Postgres {
		if key != nil {
			// Releasing an expired key needs no atomicity with the insert:
			// it is released whoever does it, and the unique index still
			// decides between concurrent new uses.
			if err := s.releaseIdempotencyKey(ctx, in, now); err != nil {
				return nil, false, err
			}
		}
		id, contact, created, settled, err = s.queueTransactionalPG(ctx, in, status, claimedAt, key, expires, sealed, now)
		if err != nil {
			return nil, false, err
		}
	}
	if !settled {
		err = s.retryTx(ctx, func(tx *Store) error {
			id, contact, created = 0, 0, false
			if err := tx.lockLedgerWriters(ctx, false); err != nil {
				return err
			}
			db := tx.db.WithContext(ctx)
			if key != nil {
				if err := tx.releaseIdempotencyKey(ctx, in, now); err != nil {
					return err
				}
			}
			contactID, err := tx.transactionalContact(ctx, in, now)
			if err != nil {
				return err
			}
			var ids []int64
			err = db.Raw(`INSERT INTO messages (contact_id, sender_id, template_id, to_phone, category, priority, status,
				claimed_by, claimed_at, send_after, expires_at, params, idempotency_key, api_key_id, callback_url, secret_enc,
				created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id`,
				contactID, in.SenderID, in.TemplateID, in.Phone, in.Category, TransactionalPriority, status, in.ClaimFor, claimedAt,
				now, expires, in.Params, key, in.APIKeyID, in.CallbackURL, sealed, now, now).Scan(&ids).Error
			if err != nil {
				return fmt.Errorf("models: queue transactional message: %w", err)
			}
			if len(ids) > 0 {
				id, contact, created = ids[0], contactID, true
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}
	if !created {
		// A concurrent request with the same key won; answer with its message.
		msg, err = s.IdempotentMessage(ctx, in.APIKeyID, in.IdempotencyKey, now.Add(-IdempotencyWindow))
		return msg, false, err
	}
	// The caller has every field of the new row: no need to read it back.
	msg = &TransactionalMessage{ID: id, APIKeyID: &in.APIKeyID, ToPhone: in.Phone, Category: in.Category,
		Status: MessagePending, Params: in.Params, IdempotencyKey: key, CallbackURL: in.CallbackURL,
		CreatedAt: NullTime{Time: now, Valid: true}, UpdatedAt: NullTime{Time: now, Valid: true}}
	if in.ExpiresAt != nil {
		msg.ExpiresAt = NullTime{Time: in.ExpiresAt.UTC(), Valid: true}
	}
	if in.ClaimFor != "" {
		msg.Status = MessageClaimed
		msg.Claimed = &ClaimedMessage{ID: id, ContactID: &contact, SenderID: in.SenderID, TemplateID: &in.TemplateID,
			ToPhone: in.Phone, Category: in.Category, Priority: TransactionalPriority, ExpiresAt: msg.ExpiresAt, Params: in.Params}
	}
	return msg, true, nil
}

// bytesArg binds a byte slice as one value: GORM spreads a bare slice
// that follows "(" in a query into a list.
type bytesArg []byte

// Value implements driver.Valuer.
func (b bytesArg) Value() (driver.Value, error) {
	if b == nil {
		return nil, nil
	}
	return []byte(b), nil
}

// releaseIdempotencyKey frees the API key's idempotency key from a message
// older than IdempotencyWindow, so it names a new one.
func (s *Store) releaseIdempotencyKey(ctx context.Context, in NewTransactional, now time.Time) error {
	if err := s.db.WithContext(ctx).Exec("UPDATE messages SET idempotency_key = NULL WHERE api_key_id = ? AND idempotency_key = ? AND created_at < ?",
		in.APIKeyID, in.IdempotencyKey, now.Add(-IdempotencyWindow)).Error; err != nil {
		return fmt.Errorf("models: release old idempotency key: %w", err)
	}
	return nil
}

// queueTransactionalPG is CreateTransactional's contact upsert, consent
// record and ledger insert as one Postgres statement. settled is false when
// the statement could not decide: the contact was being created by a
// concurrent call, so it is invisible to this statement's snapshot; the
// caller then runs the transaction, whose later statements see it.
func (s *Store) queueTransactionalPG(ctx context.Context, in NewTransactional, status string, claimedAt, key, expires any,
	sealed []byte, now time.Time) (id, contact int64, created, settled bool, err error) {
	consent, stated := true, in.TransactionalConsent != nil
	if stated {
		consent = *in.TransactionalConsent
	}
	source := fmt.Sprintf("api key %d (transactional message)", in.APIKeyID)
	var rows []struct {
		ContactID    int64
		Reachability string
		MessageID    *int64
	}
	// Data-modifying CTEs share one snapshot: c is the contact as it was
	// (none, or the row found by phone) plus the one ins just created. The
	// found row is locked FOR KEY SHARE, as the ledger's dropped foreign key
	// did, so an erasure of the contact waits for this message and
	// anonymises it (see BulkDelete).
	err = s.db.WithContext(ctx).Raw(`WITH ins AS (
			INSERT INTO contacts (phone, wa_id, country, timezone, transactional_opt_in, created_at, updated_at)
			VALUES (@phone, @waid, @country, @tz, @consent, @now, @now) ON CONFLICT (phone) DO NOTHING
			RETURNING id, transactional_opt_in),
		ex AS (
			SELECT id, reachability, transactional_opt_in FROM contacts WHERE phone = @phone FOR KEY SHARE),
		c AS (
			SELECT id, reachability, transactional_opt_in, FALSE AS created FROM ex
			UNION ALL SELECT id, 'reachable', transactional_opt_in, TRUE FROM ins),
		upd AS (
			UPDATE contacts SET transactional_opt_in = @consent, updated_at = @now FROM c
			WHERE contacts.id = c.id AND CAST(@stated AS BOOLEAN) AND NOT c.created AND c.reachability = 'reachable'
				AND c.transactional_opt_in <> @consent
			RETURNING contacts.id),
		ev AS (
			INSERT INTO consent_events (contact_id, kind, granted, source, created_at)
			SELECT c.id, CAST(@kind AS TEXT), CAST(@consent AS BOOLEAN), CAST(@source AS TEXT), CAST(@now AS TIMESTAMPTZ) FROM c
			WHERE CAST(@stated AS BOOLEAN) AND c.reachability = 'reachable' AND (c.created OR c.transactional_opt_in <> @consent)
			RETURNING id),
		m AS (
			INSERT INTO messages (contact_id, sender_id, template_id, to_phone, category, priority, status,
				claimed_by, claimed_at, send_after, expires_at, params, idempotency_key, api_key_id, callback_url, secret_enc,
				created_at, updated_at)
			SELECT c.id, CAST(@sender AS BIGINT), CAST(@template AS BIGINT), CAST(@phone AS TEXT), CAST(@category AS TEXT),
				CAST(@priority AS INTEGER), CAST(@status AS TEXT), CAST(@claimedby AS TEXT), CAST(@claimedat AS TIMESTAMPTZ),
				CAST(@now AS TIMESTAMPTZ), CAST(@expires AS TIMESTAMPTZ), CAST(@params AS JSONB),
				CAST(@key AS TEXT), CAST(@apikey AS BIGINT), CAST(@callback AS TEXT), CAST(@secret AS BYTEA),
				CAST(@now AS TIMESTAMPTZ), CAST(@now AS TIMESTAMPTZ)
			FROM c WHERE c.reachability = 'reachable'
			ON CONFLICT (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
			RETURNING id)
		SELECT c.id AS contact_id, c.reachability, (SELECT id FROM m) AS message_id FROM c`,
		map[string]any{"phone": in.Phone, "waid": strings.TrimPrefix(in.Phone, "+"), "country": in.Country, "tz": in.Timezone,
			"consent": consent, "stated": stated, "now": now, "kind": ConsentTransactional, "source": source,
			"sender": in.SenderID, "template": in.TemplateID, "category": in.Category, "priority": TransactionalPriority,
			"expires": expires, "params": in.Params, "key": key, "apikey": in.APIKeyID, "callback": in.CallbackURL,
			"secret": bytesArg(sealed), "status": status, "claimedby": in.ClaimFor, "claimedat": claimedAt}).Scan(&rows).Error
	if err != nil {
		return 0, 0, false, false, fmt.Errorf("models: queue transactional message: %w", err)
	}
	if len(rows) != 1 {
		return 0, 0, false, false, nil
	}
	if r := rows[0]; r.Reachability != string(ReachabilityReachable) {
		return 0, 0, false, true, fmt.Errorf("models: contact %s is %s: %w", in.Phone, r.Reachability, ErrContactSuppressed)
	} else if r.MessageID != nil {
		return *r.MessageID, r.ContactID, true, true, nil
	}
	return 0, 0, false, true, nil // an idempotent duplicate
}

// transactionalContact finds or creates the recipient, refuses a
// suppressed one and records a stated change of transactional consent.
func (s *Store) transactionalContact(ctx context.Context, in NewTransactional, now time.Time) (int64, error) {
	db := s.db.WithContext(ctx)
	consent := true
	if in.TransactionalConsent != nil {
		consent = *in.TransactionalConsent
	}
	var inserted []int64
	err := db.Raw(`INSERT INTO contacts (phone, wa_id, country, timezone, transactional_opt_in, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (phone) DO NOTHING RETURNING id`,
		in.Phone, strings.TrimPrefix(in.Phone, "+"), in.Country, in.Timezone, consent, now, now).Scan(&inserted).Error
	if err != nil {
		return 0, fmt.Errorf("models: create contact %s: %w", in.Phone, err)
	}
	source := fmt.Sprintf("api key %d (transactional message)", in.APIKeyID)
	if len(inserted) > 0 {
		if in.TransactionalConsent != nil {
			if err := s.insertConsent(inserted[0], ConsentTransactional, consent, source, now); err != nil {
				return 0, err
			}
		}
		return inserted[0], nil
	}
	var c struct {
		ID                 int64
		Reachability       string
		TransactionalOptIn bool
	}
	if err := db.Raw("SELECT id, reachability, transactional_opt_in FROM contacts WHERE phone = ?", in.Phone).Scan(&c).Error; err != nil {
		return 0, fmt.Errorf("models: contact %s: %w", in.Phone, err)
	}
	if c.Reachability != string(ReachabilityReachable) {
		return 0, fmt.Errorf("models: contact %s is %s: %w", in.Phone, c.Reachability, ErrContactSuppressed)
	}
	if in.TransactionalConsent != nil && c.TransactionalOptIn != consent {
		if err := db.Exec("UPDATE contacts SET transactional_opt_in = ?, updated_at = ? WHERE id = ?", consent, now, c.ID).Error; err != nil {
			return 0, fmt.Errorf("models: contact %d transactional consent: %w", c.ID, err)
		}
		if err := s.insertConsent(c.ID, ConsentTransactional, consent, source, now); err != nil {
			return 0, err
		}
	}
	return c.ID, nil
}

// TransactionalFilter selects API messages for the Transactional page.
type TransactionalFilter struct {
	Status   string // API status (queued, sent, delivered…), "" for all
	Template string // template name, "" for all
	Phone    string // part of the number
	APIKeyID int64  // 0 for all keys
}

func (f TransactionalFilter) where() (string, []any) {
	where := []string{transactionalWhere}
	var args []any
	if f.Status != "" {
		where = append(where, "m.status IN ?")
		args = append(args, LedgerStatuses(f.Status))
	}
	if f.Template != "" {
		where = append(where, "t.name = ?")
		args = append(args, f.Template)
	}
	if d := digitsOnly(f.Phone); d != "" {
		where = append(where, "m.to_phone LIKE ? ESCAPE '\\'")
		args = append(args, "%"+escapeLike(d)+"%")
	}
	if f.APIKeyID != 0 {
		where = append(where, "m.api_key_id = ?")
		args = append(args, f.APIKeyID)
	}
	return "WHERE " + strings.Join(where, " AND "), args
}

// ListTransactional returns API messages matching f, newest first.
func (s *Store) ListTransactional(ctx context.Context, f TransactionalFilter, offset, limit int) ([]TransactionalMessage, error) {
	where, args := f.where()
	args = append(args, limit, offset)
	var rows []TransactionalMessage
	err := s.db.WithContext(ctx).Raw(transactionalSelect+where+" ORDER BY m.created_at DESC, m.id DESC LIMIT ? OFFSET ?", args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: list transactional messages: %w", err)
	}
	return rows, nil
}

// TransactionalTemplates lists the template names API messages used, for
// the page's filter.
func (s *Store) TransactionalTemplates(ctx context.Context) ([]string, error) {
	var names []string
	err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT name FROM templates WHERE archived_at IS NULL AND status = ? ORDER BY name`,
		TemplateApproved).Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("models: transactional templates: %w", err)
	}
	return names, nil
}

// SendLookup is what an API call needs from the database before it is
// validated: the default sender, the template it names and, when the number
// is already a contact, the contact's reachability.
type SendLookup struct {
	Sender       *Sender   // nil when no sender row exists (the configured client)
	Template     *Template // nil when no active template has the name and language
	Reachability string    // "" when the number is not a contact
}

// LookupSend finds in one round trip the default sender (as DefaultSender),
// the template as SendableTemplate would for that sender's WABA, and the
// reachability of the contact with phone.
func (s *Store) LookupSend(ctx context.Context, name, language, phone string) (*SendLookup, error) {
	var rows []struct {
		SID           *int64  `gorm:"column:s_id"`
		SWABAID       *string `gorm:"column:s_waba_id"`
		SStatus       *string `gorm:"column:s_status"`
		SStatusReason *string `gorm:"column:s_status_reason"`
		TID           *int64  `gorm:"column:t_id"`
		TWABAID       *string `gorm:"column:t_waba_id"`
		TName         *string `gorm:"column:t_name"`
		TLanguage     *string `gorm:"column:t_language"`
		TCategory     *string `gorm:"column:t_category"`
		TParamFormat  *string `gorm:"column:t_param_format"`
		TStatus       *string `gorm:"column:t_status"`
		TStatusReason *string `gorm:"column:t_status_reason"`
		THeader       *string `gorm:"column:t_header"`
		TBody         *string `gorm:"column:t_body"`
		TFooter       *string `gorm:"column:t_footer"`
		TButtons      *string `gorm:"column:t_buttons"`
		TVariables    *string `gorm:"column:t_variables"`
		CReachability *string `gorm:"column:c_reachability"`
	}
	err := s.db.WithContext(ctx).Raw(`SELECT sd.id AS s_id, sd.waba_id AS s_waba_id, sd.status AS s_status, sd.status_reason AS s_status_reason,
		t.id AS t_id, t.waba_id AS t_waba_id, t.name AS t_name, t.language AS t_language, t.category AS t_category,
		t.parameter_format AS t_param_format, t.status AS t_status, t.status_reason AS t_status_reason, t.header AS t_header,
		t.body AS t_body, t.footer AS t_footer, t.buttons AS t_buttons, t.variables AS t_variables, c.reachability AS c_reachability
		FROM (SELECT 1 AS one) x
		LEFT JOIN senders sd ON sd.id = (SELECT id FROM senders ORDER BY is_default DESC, id LIMIT 1)
		LEFT JOIN templates t ON t.id = (SELECT tt.id FROM templates tt WHERE tt.name = ? AND tt.language = ? AND tt.archived_at IS NULL
			ORDER BY CASE WHEN tt.status = ? THEN 0 ELSE 1 END, CASE WHEN tt.waba_id = COALESCE((SELECT waba_id FROM senders ORDER BY is_default DESC, id LIMIT 1), '') THEN 0 ELSE 1 END, tt.id LIMIT 1)
		LEFT JOIN contacts c ON c.phone = ?`, name, language, TemplateApproved, phone).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: look up send of %s/%s: %w", name, language, err)
	}
	out := &SendLookup{}
	if len(rows) == 0 {
		return out, nil
	}
	r := rows[0]
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if r.SID != nil {
		out.Sender = &Sender{ID: *r.SID, WABAID: str(r.SWABAID), Status: str(r.SStatus), StatusReason: str(r.SStatusReason)}
	}
	if r.TID != nil {
		out.Template = &Template{ID: *r.TID, WABAID: str(r.TWABAID), Name: str(r.TName), Language: str(r.TLanguage),
			Category: str(r.TCategory), ParameterFormat: str(r.TParamFormat), Status: str(r.TStatus), StatusReason: str(r.TStatusReason),
			Header: r.THeader, Body: str(r.TBody), Footer: str(r.TFooter), Buttons: str(r.TButtons), Variables: str(r.TVariables)}
	}
	out.Reachability = str(r.CReachability)
	return out, nil
}

// SendableTemplate finds the active template an API call names, preferring
// an approved translation of the given WABA when several exist.
func (s *Store) SendableTemplate(ctx context.Context, wabaID, name, language string) (*Template, error) {
	var t Template
	err := s.db.WithContext(ctx).Where("name = ? AND language = ? AND archived_at IS NULL", name, language).
		Order(gormExpr("CASE WHEN status = ? THEN 0 ELSE 1 END, CASE WHEN waba_id = ? THEN 0 ELSE 1 END, id", TemplateApproved, wabaID)).
		First(&t).Error
	if err != nil {
		return nil, notFound(err, "template "+name+"/"+language)
	}
	return &t, nil
}

// TransactionalEvent is one step of an API message's history.
type TransactionalEvent struct {
	Status    string
	At        time.Time
	Detail    string
	ErrorCode int
}

// TransactionalHistory returns a message's history, oldest first: queued
// at creation, then its recorded events, with the steps the ledger row
// itself carries (sent time, expiry) where no event row says so.
func (s *Store) TransactionalHistory(ctx context.Context, m *TransactionalMessage) ([]TransactionalEvent, error) {
	changes, err := s.MessageHistory(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	out := []TransactionalEvent{{Status: "queued", At: m.CreatedAt.Time}}
	seen := map[string]bool{}
	for _, c := range changes {
		seen[c.Status] = true
		out = append(out, TransactionalEvent{Status: c.Status, At: c.OccurredAt, Detail: c.Detail, ErrorCode: c.ErrorCode})
	}
	add := func(status string, t NullTime, detail string) {
		if t.Valid && !seen[status] {
			out = append(out, TransactionalEvent{Status: status, At: t.Time, Detail: detail})
		}
	}
	add(MessageSent, m.SentAt, "")
	add(MessageDelivered, m.DeliveredAt, "")
	add(MessageRead, m.ReadAt, "")
	switch m.Status {
	case MessageFailed:
		add(MessageFailed, m.FailedAt, m.StatusReason)
	case MessageExpired, MessageSkipped, MessageCancelled, MessageUnknown:
		add(m.Status, m.UpdatedAt, m.StatusReason)
	}
	// Stable by time; events recorded in the same instant keep their order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].At.Before(out[j-1].At); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// ClaimPriority claims up to limit due messages of the priority lane
// (priority > 0) only, like ClaimDue, so a lane worker never waits behind a
// broadcast batch.
func (s *Store) ClaimPriority(ctx context.Context, instance string, limit int, now time.Time) ([]ClaimedMessage, error) {
	now = now.UTC()
	q := s.claimSQL(" AND m.priority > 0")
	var out []ClaimedMessage
	if err := s.db.WithContext(ctx).Raw(q, instance, now, now, now, limit).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("models: claim priority messages: %w", err)
	}
	return out, nil
}

// MessageSecret opens the sealed one-time password of a message; "" when
// it has none (or it was already cleared).
func (s *Store) MessageSecret(ctx context.Context, id int64) (string, error) {
	var row struct{ SecretEnc []byte }
	if err := s.db.WithContext(ctx).Raw("SELECT secret_enc FROM messages WHERE id = ?", id).Scan(&row).Error; err != nil {
		return "", fmt.Errorf("models: message %d secret: %w", id, err)
	}
	plain, err := s.creds.open(row.SecretEnc)
	if err != nil {
		return "", fmt.Errorf("models: message %d secret: %w", id, err)
	}
	return plain, nil
}

// ClearSentSecrets drops the sealed one-time passwords of messages that
// left the queue (sent, failed, expired…): none of them is sent again, so
// the code is never needed again. ids limits it to those messages; nil
// sweeps them all. It returns how many it cleared.
func (s *Store) ClearSentSecrets(ctx context.Context, ids []int64) (int64, error) {
	q := s.db.WithContext(ctx).Table("messages").Where("secret_enc IS NOT NULL AND status NOT IN ?",
		[]string{MessagePending, MessageClaimed, MessageSending})
	if ids != nil {
		if len(ids) == 0 {
			return 0, nil
		}
		q = q.Where("id IN ?", ids)
	}
	res := q.Updates(map[string]any{"secret_enc": nil})
	if res.Error != nil {
		return 0, fmt.Errorf("models: clear one-time passwords: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// CountTransactional counts API messages matching f.
func (s *Store) CountTransactional(ctx context.Context, f TransactionalFilter) (int64, error) {
	where, args := f.where()
	var n int64
	err := s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM messages m LEFT JOIN templates t ON t.id = m.template_id "+where, args...).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("models: count transactional messages: %w", err)
	}
	return n, nil
}
