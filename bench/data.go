package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/models"
)

// newSchema creates an empty, migrated Postgres schema for one scenario
// and returns its DATABASE_URL and an open store; run drops it at the end.
func (b *bench) newSchema(prefix string) (string, *models.Store, error) {
	conn, err := pgx.Connect(b.ctx, b.dbURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to Postgres (set TEST_DATABASE_URL): %w", err)
	}
	defer conn.Close(b.ctx)
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	schema := "bench_" + prefix + "_" + hex.EncodeToString(buf)
	if _, err := conn.Exec(b.ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	b.schemas = append(b.schemas, schema)
	u, err := url.Parse(b.dbURL)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema) // cpumeter finds the schema's backends by it
	u.RawQuery = q.Encode()
	store, err := models.Open(b.ctx, u.String())
	if err != nil {
		return "", nil, err
	}
	b.cleanups = append(b.cleanups, func() { _ = store.Close() })
	if _, err := store.Migrate(b.ctx); err != nil {
		return "", nil, fmt.Errorf("migrate: %w", err)
	}
	return u.String(), store, nil
}

func (b *bench) dropSchemas() {
	if len(b.schemas) == 0 {
		return
	}
	conn, err := pgx.Connect(context.Background(), b.dbURL)
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	for _, s := range b.schemas {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+s+" CASCADE")
	}
}

// sqlExec runs one statement on store.
func sqlExec(ctx context.Context, store *models.Store, q string, args ...any) error {
	if err := store.DB(ctx).Exec(q, args...).Error; err != nil {
		return fmt.Errorf("%.60s…: %w", q, err)
	}
	return nil
}

// countries is the generated audience's mix: share (of 100), ISO code,
// time zones, and the E.164 prefix and digit count of valid mobile numbers.
var countries = []struct {
	share           int
	iso, tz, prefix string
	digits, offset  int
}{
	{30, "BR", "America/Sao_Paulo", "+55119", 8, 0},
	{15, "MX", "America/Mexico_City", "+5255", 8, 0},
	{15, "US", "America/New_York", "+1212", 7, 2_000_000},
	{10, "IN", "Asia/Kolkata", "+919", 9, 0},
	{10, "GB", "Europe/London", "+4479", 8, 0},
	{8, "DE", "Europe/Berlin", "+49151", 8, 0},
	{7, "ES", "Europe/Madrid", "+346", 8, 0},
	{5, "AR", "America/Argentina/Buenos_Aires", "+54911", 8, 20_000_000},
}

// countrySQL is a CASE expression mapping g (1..n) to the column for the
// deterministic country of row g.
func countrySQL(col string) string {
	s := "CASE"
	acc := 0
	for _, c := range countries {
		acc += c.share
		v := c.iso
		switch col {
		case "tz":
			v = c.tz
		case "phone":
			// Unique per g: the country's prefix then g, zero-padded.
			s += fmt.Sprintf(" WHEN g %% 100 < %d THEN '%s' || lpad((g + %d)::text, %d, '0')", acc, c.prefix, c.offset, c.digits)
			continue
		}
		s += fmt.Sprintf(" WHEN g %% 100 < %d THEN '%s'", acc, v)
	}
	return s + " END"
}

// seedContacts fills contacts with n deterministic, realistic rows:
// countries and their zones, tags (vip, newsletter, churn-risk), spend,
// orders, lifecycle, consent and reachability.
func seedContacts(ctx context.Context, store *models.Store, n int) error {
	return sqlExec(ctx, store, `INSERT INTO contacts (phone, wa_id, first_name, last_name, email, country, timezone, language, tags,
		total_spent, total_orders, marketing_opt_in, reachability, lifecycle_stage, created_at, updated_at, last_active_at, attributes)
		SELECT p.phone, substr(p.phone, 2), (ARRAY['Ana','João','Maria','Luis','Priya','Tom','Emma','Lukas','Sofia','Diego'])[1 + g % 10],
			'Test' || g, 'person' || g || '@example.com', `+countrySQL("iso")+`, `+countrySQL("tz")+`,
			(ARRAY['pt_BR','es','en','en','hi','en','de','es'])[1 + g % 8],
			CASE WHEN g % 7 = 0 THEN '["vip","newsletter"]'::jsonb WHEN g % 3 = 0 THEN '["newsletter"]'::jsonb
				WHEN g % 11 = 0 THEN '["churn-risk"]'::jsonb ELSE '[]'::jsonb END,
			(g::bigint * 7919 % 100000) / 100.0, g % 9, g % 10 <> 0,
			CASE WHEN g % 50 = 0 THEN 'opted_out' WHEN g % 97 = 0 THEN 'unreachable' ELSE 'reachable' END,
			(ARRAY['lead','new','active','at_risk','churned'])[1 + g % 5],
			now() - (g % 700) * interval '1 day', now(), now() - (g % 120) * interval '1 day',
			jsonb_build_object('plan', CASE WHEN g % 2 = 0 THEN 'pro' ELSE 'free' END)
		FROM generate_series(1, ?) g CROSS JOIN LATERAL (SELECT `+countrySQL("phone")+` AS phone) p`, n)
}

// seedEvents adds perContact events per contact over the last 180 days.
func seedEvents(ctx context.Context, store *models.Store, perContact int) error {
	if err := sqlExec(ctx, store, `INSERT INTO events (contact_id, name, value, occurred_at, created_at)
		SELECT c.id, (ARRAY['purchase','page_view','cart','page_view','signup'])[1 + (g + c.id) % 5], 10 + c.id % 90,
			now() - ((g * 13 + c.id * 31) % 180) * interval '1 day', now()
		FROM contacts c CROSS JOIN generate_series(1, ?) g`, perContact); err != nil {
		return err
	}
	// As autovacuum would after a bulk load: statistics and a visibility map.
	if err := sqlExec(ctx, store, "VACUUM ANALYZE contacts"); err != nil {
		return err
	}
	return sqlExec(ctx, store, "VACUUM ANALYZE events")
}

// writeCSV writes n contact rows in the generated mix to path, the way a
// CRM export looks: E.164 phones, names, email, country, tags, spend.
func writeCSV(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "phone,first_name,last_name,email,country,tags,total_spent,lifecycle_stage")
	stages := []string{"lead", "new", "active", "at_risk", "churned"}
	for g := 1; g <= n; g++ {
		acc, pick := 0, 0
		for i, c := range countries {
			acc += c.share
			if g%100 < acc {
				pick = i
				break
			}
		}
		c := countries[pick]
		tags := ""
		switch {
		case g%7 == 0:
			tags = "vip,newsletter"
		case g%3 == 0:
			tags = "newsletter"
		}
		fmt.Fprintf(w, "%s%0*d,First%d,Last%d,person%d@example.com,%s,\"%s\",%d.%02d,%s\n",
			c.prefix, c.digits, c.offset+g, g, g, g, c.iso, tags, g*7919%1000, g%100, stages[g%5])
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), f.Close()
}
